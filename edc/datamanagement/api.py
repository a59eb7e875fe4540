"""REST API for data managers, monitors, statisticians and sites: queries, SDV, signatures,
locks and the audit trail. Thin views over services and selectors."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from edc.accounts.roles import Permission, permissions_of
from edc.accounts.scoping import Scope, scope_of
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.datamanagement import selectors, services
from edc.datamanagement.models import Lock, LockLevel, Query, Signature, SignatureLevel
from edc.datamanagement.query_states import QueryAction, QueryStatus, allowed_actions
from edc.errors import DomainError
from edc.subjects import selectors as subject_selectors

# ---- serializers -----------------------------------------------------------------------


class QuerySerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    subject = serializers.CharField(source="subject.subject_id")
    form_id = serializers.IntegerField(source="form_instance_id")
    event_code = serializers.CharField(source="form_instance.event_code")
    event_repeat = serializers.IntegerField(source="form_instance.event_repeat")
    form_code = serializers.CharField(source="form_instance.form_code")
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True)
    raised_by = serializers.CharField(source="raised_by.username", default=None, allow_null=True)
    age_days = serializers.SerializerMethodField()

    class Meta:
        model = Query
        fields = [
            "id",
            "site",
            "subject",
            "form_id",
            "event_code",
            "event_repeat",
            "form_code",
            "item_code",
            "group_row",
            "source",
            "status",
            "assignee",
            "raised_by",
            "created_at",
            "updated_at",
            "closed_at",
            "age_days",
        ]

    def get_age_days(self, query) -> int:
        return selectors.age_days(query)


class QueryMessageSerializer(serializers.Serializer):
    action = serializers.CharField()
    text = serializers.CharField()
    author = serializers.CharField(source="author_name")
    created_at = serializers.DateTimeField()


class QueryDetailSerializer(QuerySerializer):
    messages = serializers.SerializerMethodField()
    your_actions = serializers.SerializerMethodField()

    class Meta(QuerySerializer.Meta):
        fields = [*QuerySerializer.Meta.fields, "messages", "your_actions"]

    @extend_schema_field(QueryMessageSerializer(many=True))
    def get_messages(self, query):
        return QueryMessageSerializer(selectors.query_thread(query), many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_your_actions(self, query):
        scope: Scope = self.context["scope"]
        held = permissions_of(scope.roles(query.study_id, query.site_id))
        return [a.value for a in allowed_actions(query.status, held)]


class RaiseQueryRequest(serializers.Serializer):
    form_id = serializers.IntegerField(help_text="id of the filled form (FormInstance)")
    item_code = serializers.CharField(max_length=60)
    group_row = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="1-based row of a group"
    )
    text = serializers.CharField(allow_blank=True)
    assignee = serializers.CharField(
        required=False, allow_blank=True, help_text="username of a site member who answers"
    )


class QueryActionRequest(serializers.Serializer):
    action = serializers.ChoiceField(choices=[a.value for a in QueryAction])
    text = serializers.CharField(required=False, allow_blank=True, default="")


class QueryCountsSerializer(serializers.Serializer):
    site = serializers.CharField(source="site_code")
    open = serializers.IntegerField(source="counts.open")
    answered = serializers.IntegerField(source="counts.answered")
    closed = serializers.IntegerField(source="counts.closed")
    cancelled = serializers.IntegerField(source="counts.cancelled")
    unresolved = serializers.IntegerField()
    total = serializers.IntegerField()


class LockSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", default=None)
    subject = serializers.CharField(source="subject.subject_id", default=None)
    form_id = serializers.IntegerField(source="form_instance_id", allow_null=True)
    locked_by = serializers.CharField(source="locked_by.username", default=None)
    unlocked_by = serializers.CharField(
        source="unlocked_by.username", default=None, allow_null=True
    )
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = Lock
        fields = [
            "id",
            "level",
            "site",
            "subject",
            "form_id",
            "active",
            "reason",
            "locked_by",
            "locked_at",
            "unlocked_by",
            "unlocked_at",
            "unlock_reason",
            "snapshot_id",
            "snapshot_sha256",
            "snapshot_form_count",
        ]


class LockRequest(serializers.Serializer):
    level = serializers.ChoiceField(choices=LockLevel.values)
    site = serializers.CharField(required=False, help_text="site code (site level)")
    subject = serializers.CharField(required=False, help_text="subject ID (subject level)")
    form_id = serializers.IntegerField(required=False, help_text="filled form id (form level)")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class UnlockRequest(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text="required: why the data reopens")


class SdvRequest(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        default=list,
        help_text="item codes; empty verifies the whole form",
    )


class SdvSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    form_id = serializers.IntegerField(source="form_instance_id")
    item_code = serializers.CharField()
    verified_by = serializers.CharField(source="verified_by.username")
    verified_at = serializers.DateTimeField()


class SignRequest(serializers.Serializer):
    level = serializers.ChoiceField(choices=SignatureLevel.values)
    subject = serializers.CharField(required=False, help_text="subject ID (visit, casebook)")
    event_code = serializers.CharField(required=False, help_text="visit (visit level)")
    event_repeat = serializers.IntegerField(required=False, default=1, min_value=1)
    form_id = serializers.IntegerField(required=False, help_text="filled form id (form level)")
    # Both signature components on every API signing: a token request is no continuous
    # session (21 CFR 11.200(a)(1)(ii)); edc.accounts.signing.
    username = serializers.CharField(help_text="the signer's user ID (username)")
    password = serializers.CharField(
        allow_blank=True, trim_whitespace=False, style={"input_type": "password"}
    )
    meaning = serializers.CharField(allow_blank=True)


class SignatureSerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="subject.subject_id")
    form_id = serializers.IntegerField(source="form_instance_id", allow_null=True)
    signer = serializers.CharField(source="signer.username")
    valid = serializers.BooleanField(source="is_valid")

    class Meta:
        model = Signature
        fields = [
            "id",
            "level",
            "subject",
            "event_code",
            "event_repeat",
            "form_id",
            "signer",
            "signer_name",
            "signed_at",
            "meaning",
            "content_sha256",
            "valid",
            "voided_at",
            "void_reason",
            "resign_required",
        ]


class AuditEventSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="actor_username")
    site = serializers.IntegerField(source="site_id", allow_null=True)
    subject = serializers.IntegerField(source="subject_id", allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "user",
            "channel",
            "action",
            "object_type",
            "object_id",
            "item",
            "old_value",
            "new_value",
            "reason",
            "site",
            "subject",
        ]


# ---- helpers ---------------------------------------------------------------------------


def _valid(serializer_class, request):
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


def _required(data: dict, field: str, level: str):
    if data.get(field) in (None, ""):
        raise DomainError("required", field, f"a {level} {field.replace('_', ' ')} is required")
    return data[field]


def _assignee(username: str):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise DomainError("invalid_assignee", "assignee", f"no active user {username!r}")
    return user


# ---- queries ---------------------------------------------------------------------------


class StudyQueriesView(APIView):
    @extend_schema(
        summary="Queries of a study visible to you",
        parameters=[
            OpenApiParameter("status", str, enum=[*[s.value for s in QueryStatus], "unresolved"]),
            OpenApiParameter("site", str, description="site code"),
            OpenApiParameter("subject", str, description="subject ID"),
            OpenApiParameter("form_id", int),
            OpenApiParameter("mine", bool, description="assigned to you or to your whole site"),
        ],
        responses=QuerySerializer(many=True),
    )
    def get(self, request, study_code):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        params = request.query_params
        form_id = params.get("form_id")
        queries = selectors.filter_queries(
            selectors.visible_queries(scope, study),
            status=params.get("status", ""),
            site_code=params.get("site", ""),
            subject_id=params.get("subject", ""),
            assignee=request.user if params.get("mine") in ("1", "true") else None,
            form_id=int(form_id) if form_id and form_id.isdigit() else None,
        )
        return Response(QuerySerializer(queries, many=True).data)

    @extend_schema(
        summary="Raise a query on an item (monitors, data managers)",
        request=RaiseQueryRequest,
        responses={201: QueryDetailSerializer},
    )
    def post(self, request, study_code):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        data = _valid(RaiseQueryRequest, request)
        form = selectors.get_form(scope, study, data["form_id"])
        query = services.raise_query(
            ChangeContext.api(request),
            form,
            item_code=data["item_code"],
            text=data["text"],
            group_row=data.get("group_row"),
            assignee=_assignee(data.get("assignee", "")),
        )
        query = selectors.get_query(scope, study, query.pk)
        return Response(QueryDetailSerializer(query, context={"scope": scope}).data, status=201)


class QueryDetailView(APIView):
    @extend_schema(summary="One query with its thread", responses=QueryDetailSerializer)
    def get(self, request, study_code, pk):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        query = selectors.get_query(scope, study, pk)
        return Response(QueryDetailSerializer(query, context={"scope": scope}).data)


class QueryActionView(APIView):
    @extend_schema(
        summary="Answer, re-query, close or cancel a query",
        request=QueryActionRequest,
        responses=QueryDetailSerializer,
    )
    def post(self, request, study_code, pk):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        query = selectors.get_query(scope, study, pk)
        data = _valid(QueryActionRequest, request)
        services.act_on_query(ChangeContext.api(request), query, data["action"], data["text"])
        query = selectors.get_query(scope, study, pk)
        return Response(QueryDetailSerializer(query, context={"scope": scope}).data)


class QueryCountsView(APIView):
    @extend_schema(
        summary="Query counts per site and status", responses=QueryCountsSerializer(many=True)
    )
    def get(self, request, study_code):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        return Response(QueryCountsSerializer(selectors.query_counts(scope, study), many=True).data)


# ---- source data verification ----------------------------------------------------------


class FormSdvView(APIView):
    @extend_schema(
        summary="Mark a form, or some of its items, source-verified (monitors)",
        request=SdvRequest,
        responses={201: SdvSerializer(many=True)},
    )
    def post(self, request, study_code, form_id):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        form = selectors.get_form(scope, study, form_id)
        data = _valid(SdvRequest, request)
        made = services.verify_source(ChangeContext.api(request), form, data["items"])
        return Response(SdvSerializer(made, many=True).data, status=201)


# ---- signatures ------------------------------------------------------------------------


class StudySignaturesView(APIView):
    @extend_schema(
        summary="Signatures of a subject, valid and voided",
        parameters=[OpenApiParameter("subject", str, required=True, description="subject ID")],
        responses=SignatureSerializer(many=True),
    )
    def get(self, request, study_code):
        scope = scope_of(request.user)
        subject_id = request.query_params.get("subject", "")
        subject = subject_selectors.get_subject(scope, study_code, subject_id)
        return Response(SignatureSerializer(selectors.signatures_of(subject), many=True).data)

    @extend_schema(
        summary="Sign a form, visit or casebook (investigators; user ID and password re-entered)",
        request=SignRequest,
        responses={201: SignatureSerializer},
    )
    def post(self, request, study_code):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        data = _valid(SignRequest, request)
        level = data["level"]
        if level == SignatureLevel.FORM:
            target = selectors.get_form(scope, study, _required(data, "form_id", level))
        else:
            subject = subject_selectors.get_subject(
                scope, study.code, _required(data, "subject", level)
            )
            target = subject
            if level == SignatureLevel.VISIT:
                event = _required(data, "event_code", level)
                target = services.VisitRef(subject, event, data["event_repeat"])
        signature = services.sign(
            ChangeContext.api(request),
            level=level,
            target=target,
            username=data["username"],
            password=data["password"],
            meaning=data["meaning"],
        )
        return Response(SignatureSerializer(signature).data, status=201)


# ---- locks -----------------------------------------------------------------------------


class StudyLocksView(APIView):
    @extend_schema(summary="Locks of a study, active first", responses=LockSerializer(many=True))
    def get(self, request, study_code):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        return Response(LockSerializer(selectors.locks_of(scope, study), many=True).data)

    @extend_schema(
        summary="Lock a form, subject, site or the study (data managers)",
        request=LockRequest,
        responses={201: LockSerializer},
    )
    def post(self, request, study_code):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        data = _valid(LockRequest, request)
        level = data["level"]
        if level == LockLevel.STUDY:
            target = study
        elif level == LockLevel.SITE:
            target = subject_selectors.get_site(scope, study, _required(data, "site", level))
        elif level == LockLevel.SUBJECT:
            target = subject_selectors.get_subject(
                scope, study.code, _required(data, "subject", level)
            )
        else:
            target = selectors.get_form(scope, study, _required(data, "form_id", level))
        lock = services.lock(ChangeContext.api(request), level, target, reason=data["reason"])
        return Response(LockSerializer(selectors.get_lock(scope, study, lock.pk)).data, status=201)


class UnlockView(APIView):
    @extend_schema(
        summary="Release a lock (data managers; a reason is required)",
        request=UnlockRequest,
        responses=LockSerializer,
    )
    def post(self, request, study_code, pk):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        lock = selectors.get_lock(scope, study, pk)
        data = _valid(UnlockRequest, request)
        services.unlock(ChangeContext.api(request), lock, data["reason"])
        return Response(LockSerializer(selectors.get_lock(scope, study, pk)).data)


# ---- audit trail -----------------------------------------------------------------------


class StudyAuditView(APIView):
    @extend_schema(
        summary="The audit trail of a study (data managers, statisticians)",
        description="Rows in id order; page with `after` = the last id you received.",
        parameters=[
            OpenApiParameter("subject", str, description="subject ID"),
            OpenApiParameter("object_type", str, description='e.g. "crf.FormInstance"'),
            OpenApiParameter("object_id", str),
            OpenApiParameter("after", int, description="return rows with a larger id"),
            OpenApiParameter("limit", int, description="at most 1000, default 200"),
        ],
        responses=AuditEventSerializer(many=True),
    )
    def get(self, request, study_code):
        scope = scope_of(request.user)
        study = subject_selectors.get_study(scope, study_code)
        if not (
            scope.can_anywhere(Permission.LOCK, study.pk)
            or scope.can_anywhere(Permission.EXPORT, study.pk)
        ):
            raise PermissionDenied(
                gettext("the audit trail is for data managers and statisticians")
            )
        params = request.query_params
        rows = selectors.audit_trail(
            scope,
            study,
            subject_id=params.get("subject", ""),
            object_type=params.get("object_type", ""),
            object_id=params.get("object_id", ""),
            after_id=_int(params.get("after"), 0),
            limit=_int(params.get("limit"), 200),
        )
        return Response(AuditEventSerializer(rows, many=True).data)


def _int(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise DomainError("invalid", "query", f"{value!r} is not a whole number")
    return int(value)
