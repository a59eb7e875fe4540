"""REST API for CRF data: the same services, validation, audit and site scoping as the pages."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crf import selectors, services
from crf.models import CtcaeTerm, FormInstance
from crf.selectors import FormSlot
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    field = serializers.CharField()
    message = serializers.CharField()
    details = serializers.ListField(child=serializers.DictField(), required=False)


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorSerializer()


class IssueSerializer(serializers.Serializer):
    item = serializers.CharField()
    path = serializers.CharField(help_text='"ITEM" or "group[row].ITEM" (rows from 1)')
    code = serializers.CharField(help_text="the rule: type, range, required, an edit check code…")
    message = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])


class FormSummarySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_code")
    form = serializers.CharField(source="form_code")

    class Meta:
        model = FormInstance
        fields = [
            "event",
            "event_repeat",
            "form",
            "form_repeat",
            "status",
            "row_version",
            "updated_at",
        ]


class FormDataSerializer(serializers.Serializer):
    event = serializers.CharField()
    event_repeat = serializers.IntegerField()
    form = serializers.CharField()
    form_repeat = serializers.IntegerField()
    status = serializers.CharField(help_text="not_started, in_progress, complete")
    row_version = serializers.IntegerField(help_text="send it back when saving; 0 = never saved")
    data = serializers.DictField(
        help_text="values by item code; numbers as decimal strings, dates ISO, groups as lists of rows"
    )
    derived = serializers.DictField(help_text="how derived items were calculated")
    confirmed_warnings = IssueSerializer(many=True, required=False)


class FormWriteSerializer(serializers.Serializer):
    values = serializers.DictField(
        help_text="values by item code, as strings or JSON numbers/booleans; a group is a list "
        "of row objects; derived items are refused. An item that accepts other units takes "
        "its unit as `<CODE>__unit` (a UCUM code; default the item's own unit)"
    )
    row_version = serializers.IntegerField(
        min_value=0, help_text="the version read before editing (0 for a new form)"
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="required to change saved values"
    )
    confirm_warnings = serializers.BooleanField(
        default=False, help_text="save despite soft warnings; opens a query for each"
    )
    complete = serializers.BooleanField(
        default=True, help_text="false saves a draft (required items and edit checks wait)"
    )
    range_override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="why an LLN/ULN differs from the site's normal range (400 "
        "`range_override_reason` without it); blank limits are filled from the ranges",
    )


class CheckSerializer(serializers.Serializer):
    values = serializers.DictField()
    complete = serializers.BooleanField(default=True)


class CheckResultSerializer(serializers.Serializer):
    errors = IssueSerializer(many=True)
    warnings = IssueSerializer(many=True)
    derived = serializers.DictField()


class CriterionSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    text = serializers.CharField()
    status = serializers.CharField(help_text="pass, fail, missing, attested_yes, attested_no")
    reason = serializers.CharField()
    waived = serializers.CharField(allow_null=True, help_text="sponsor approval reference")


class EligibilitySerializer(serializers.Serializer):
    point = serializers.CharField()
    allowed = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    criteria = CriterionSerializer(many=True)
    confirmed_by = serializers.CharField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    results_sha256 = serializers.CharField(allow_null=True)


class CtcaeTermSerializer(serializers.ModelSerializer):
    class Meta:
        model = CtcaeTerm
        fields = ["meddra_code", "soc", "term", "grades", "is_other_specify", "grade_text"]


def _form_body(slot: FormSlot, instance: FormInstance | None, warnings=()) -> dict:
    return {
        "event": slot.event["code"],
        "event_repeat": slot.event_repeat,
        "form": slot.form["code"],
        "form_repeat": slot.form_repeat,
        "status": instance.status if instance else "not_started",
        "row_version": instance.row_version if instance else 0,
        "data": instance.data if instance else {},
        "derived": instance.derived if instance else {},
        "confirmed_warnings": [w.as_dict() for w in warnings],
    }


ERRORS = {
    400: OpenApiResponse(ErrorResponseSerializer, description="invalid values (details list each)"),
    403: OpenApiResponse(ErrorResponseSerializer, description="your role may not enter data"),
    404: OpenApiResponse(
        ErrorResponseSerializer, description="not in your sites or not in the protocol"
    ),
    409: OpenApiResponse(ErrorResponseSerializer, description="stale_write: saved by someone else"),
    423: OpenApiResponse(ErrorResponseSerializer, description="locked"),
}


class SubjectFormsView(APIView):
    @extend_schema(responses=FormSummarySerializer(many=True), summary="Saved forms of a subject")
    def get(self, request, study_code, subject_id):
        subject = selectors.get_subject(scope_of(request.user), study_code, subject_id)
        forms = FormInstance.objects.filter(subject=subject).exclude(status="removed")
        return Response(FormSummarySerializer(forms, many=True).data)


def _slot(request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat):
    subject = selectors.get_subject(scope_of(request.user), study_code, subject_id)
    return subject, selectors.form_slot(subject, event_code, event_repeat, form_code, form_repeat)


class FormView(APIView):
    @extend_schema(
        responses={200: FormDataSerializer, 404: ERRORS[404]},
        summary="One form of one visit (status not_started and row_version 0 before the first save)",
    )
    def get(
        self, request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
    ):
        _, slot = _slot(
            request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
        )
        return Response(_form_body(slot, slot.instance))

    @extend_schema(
        request=FormWriteSerializer,
        responses={200: FormDataSerializer, **ERRORS},
        summary="Save a form: validated, audited, with optimistic concurrency on row_version",
        description=(
            "Hard errors answer 400 `invalid` with every problem in `details`; soft warnings "
            "answer 400 `confirm_warnings` until sent again with `confirm_warnings: true`; a "
            "changed saved value needs `reason` (400 `reason_required`); a stale `row_version` "
            "answers 409 `stale_write` and saves nothing. On a RECIST follow-up, an investigator "
            "response (RSORRES) that differs from the calculated one (RSCALC) needs the reason "
            "RSOVRSN (else 400 `invalid` with a detail `response_override_reason_required`) and "
            "`confirm_warnings: true` (the `response_override` warning opens a query). Date "
            "items answer `date_too_early`, `future_date`, `date_too_far_ahead`, `before_birth` "
            "or `before_consent` in the details, naming the item."
        ),
    )
    def put(
        self, request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
    ):
        subject, slot = _slot(
            request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
        )
        body = FormWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        instance = services.save_form(
            ChangeContext.api(request, reason=data.get("reason", "")),
            subject,
            slot.event["code"],
            slot.event_repeat,
            slot.form["code"],
            slot.form_repeat,
            data["values"],
            row_version=data["row_version"],
            confirm_warnings=data["confirm_warnings"],
            complete=data["complete"],
            range_override_reason=data.get("range_override_reason", ""),
        )
        return Response(_form_body(slot, instance, instance.confirmed_warnings))


class FormCheckView(APIView):
    @extend_schema(
        request=CheckSerializer,
        responses={200: CheckResultSerializer, 404: ERRORS[404]},
        summary="Check form values without saving (the same rules as a save)",
    )
    def post(
        self, request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
    ):
        subject, slot = _slot(
            request, study_code, subject_id, event_code, event_repeat, form_code, form_repeat
        )
        body = CheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            services.check_form(
                subject,
                slot,
                body.validated_data["values"],
                complete=body.validated_data["complete"],
            )
        )


class EligibilityView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "point",
                OpenApiTypes.STR,
                enum=list(selectors.ELIGIBILITY_POINTS),
                default="randomization",
            )
        ],
        responses={200: EligibilitySerializer, 404: ERRORS[404]},
        summary="Eligibility results at a point, with reasons and the investigator's confirmation",
    )
    def get(self, request, study_code, subject_id):
        subject = selectors.get_subject(scope_of(request.user), study_code, subject_id)
        state = selectors.eligibility_state(
            subject, request.query_params.get("point", "randomization")
        )
        confirmation = state.confirmation if state.confirmation_current else None
        return Response(
            {
                "point": state.point,
                "allowed": state.allowed,
                "reasons": state.reasons(),
                "criteria": [{**line.snapshot(), "text": line.text} for line in state.lines],
                "confirmed_by": confirmation.signed_by_name if confirmation else None,
                "confirmed_at": confirmation.signed_at if confirmation else None,
                "results_sha256": confirmation.results_sha256 if confirmation else None,
            }
        )


class CtcaeTermsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", OpenApiTypes.STR, description="part of the term, or the start of its code"
            ),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="at most this many (1-100), for type-ahead"
            ),
        ],
        responses=CtcaeTermSerializer(many=True),
        summary="CTCAE v5.0 terms with MedDRA codes and selectable grades",
    )
    def get(self, request):
        limit = request.query_params.get("limit", "")
        if limit and not (limit.isdigit() and 1 <= int(limit) <= 100):
            raise DomainError("invalid", "limit", _("limit must be a whole number from 1 to 100"))
        terms = selectors.find_ctcae_terms(
            request.query_params.get("q", ""), int(limit) if limit else None
        )
        return Response(CtcaeTermSerializer(terms, many=True).data)
