from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects import selectors, services
from edc.subjects.lifecycle import OffStudyReason, Status
from edc.subjects.models import Subject


class SubjectSerializer(serializers.ModelSerializer):
    study = serializers.CharField(source="study.code")
    site = serializers.CharField(source="site.code")
    protocol_version = serializers.IntegerField(source="protocol_version.number")

    class Meta:
        model = Subject
        fields = [
            "subject_id",
            "study",
            "site",
            "status",
            "protocol_version",
            "screening_date",
            "registration_date",
            "randomization_date",
            "off_study_date",
            "off_study_reason",
            "death_date",
            "treatment_consent_withdrawn",
        ]


class ScreenRequest(serializers.Serializer):
    site = serializers.CharField(help_text="site code")
    consent_date = serializers.DateField()
    icf_version = serializers.CharField(max_length=40)


class TransitionRequest(serializers.Serializer):
    status = serializers.ChoiceField(choices=[s.value for s in Status])
    on_date = serializers.DateField(required=False)
    off_study_reason = serializers.ChoiceField(
        choices=[r.value for r in OffStudyReason], required=False
    )
    reason = serializers.CharField(required=False, allow_blank=True)
    death_date = serializers.DateField(
        required=False,
        help_text="the date of death: required with off_study_reason=death unless already "
        "recorded (one death record per subject, shared with the survival form)",
    )
    withdraw_treatment_consent = serializers.BooleanField(
        required=False,
        default=False,
        help_text="with status=off_treatment_followup: consent to treatment withdrawn, follow-up "
        "goes on (needs a reason). Withdrawal from all follow-up is status=off_study with "
        "off_study_reason=withdrawal_all_follow_up.",
    )


class StudySubjectsView(APIView):
    @extend_schema(
        responses=SubjectSerializer(many=True), summary="Subjects of a study visible to you"
    )
    def get(self, request, study_code):
        scope = scope_of(request.user)
        study = selectors.get_study(scope, study_code)
        subjects = (
            selectors.visible_subjects(scope)
            .filter(study=study)
            .select_related("study", "site", "protocol_version")
        )
        return Response(SubjectSerializer(subjects, many=True).data)

    @extend_schema(
        request=ScreenRequest,
        responses={201: SubjectSerializer},
        summary="Screen a subject (records consent)",
    )
    def post(self, request, study_code):
        scope = scope_of(request.user)
        study = selectors.get_study(scope, study_code)
        body = ScreenRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        site = selectors.get_site(scope, study, data.pop("site"))
        subject = services.screen_subject(ChangeContext.api(request), site, **data)
        return Response(SubjectSerializer(subject).data, status=201)


class SubjectDetailView(APIView):
    @extend_schema(responses=SubjectSerializer, summary="One subject (404 outside your sites)")
    def get(self, request, study_code, subject_id):
        subject = selectors.get_subject(scope_of(request.user), study_code, subject_id)
        return Response(SubjectSerializer(subject).data)


class SubjectTransitionView(APIView):
    @extend_schema(
        request=TransitionRequest,
        responses=SubjectSerializer,
        summary="Move a subject through its lifecycle",
    )
    def post(self, request, study_code, subject_id):
        subject = selectors.get_subject(scope_of(request.user), study_code, subject_id)
        body = TransitionRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["status"] == Status.RANDOMIZED:
            # Only an allocation may make a subject randomized: it takes the slot and freezes strata.
            raise DomainError(
                "use_randomization_api",
                "status",
                _("a subject becomes randomized only through the randomization API (POST %(url)s)")
                % {"url": f"/api/v1/studies/{study_code}/subjects/{subject_id}/randomization/"},
                status=409,
            )
        subject = services.transition(
            ChangeContext.api(request, reason=data.get("reason", "")),
            subject,
            data["status"],
            on_date=data.get("on_date"),
            off_study_reason=data.get("off_study_reason"),
            death_date=data.get("death_date"),
            withdraw_treatment_consent=data["withdraw_treatment_consent"],
            permission=Permission.ENTER_DATA,
        )
        return Response(SubjectSerializer(subject).data)
