"""Randomization API: thin views over services and selectors. Errors are JSON with a stable
code (edc.api.errors); a subject outside the caller's sites is 404."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects.selectors import get_study
from randomization import scheme_params, selectors, services
from randomization.models import Allocation
from randomization.scheme_params import GENERATOR


class ArmSerializer(serializers.Serializer):
    code = serializers.CharField(source="arm")
    name = serializers.SerializerMethodField()

    def get_name(self, allocation: Allocation) -> str:
        # The name as the study file writes it (its first language): an API answer is data for
        # enrolment systems, and reading the study's texts would cost the allocation a query.
        return scheme_params.arm_names(allocation.scheme.params).get(allocation.arm, allocation.arm)


class StratumSerializer(serializers.Serializer):
    key = serializers.CharField(source="stratum.key")
    values = serializers.DictField(child=serializers.CharField(), source="stratum_values")


class AllocationSerializer(serializers.Serializer):
    """The allocation as the API gives it."""

    subject_id = serializers.CharField(source="subject.subject_id")
    study = serializers.CharField(source="study.code")
    site = serializers.CharField(source="site.code")
    arm = ArmSerializer(source="*")
    sequence = serializers.IntegerField(help_text="randomization number within the stratum")
    stratum = StratumSerializer(source="*")
    randomized_at = serializers.DateTimeField()
    randomized_by = serializers.CharField(source="randomized_by_username")
    channel = serializers.CharField()


class StrictCharField(serializers.CharField):
    """A CharField that takes only a JSON string (DRF's also turns a number into its text)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class RandomizeRequest(serializers.Serializer):
    strata = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="factor code -> level; optional, refused when it disagrees with the CRF",
    )
    idempotency_key = StrictCharField(
        required=False, allow_blank=True, max_length=100, help_text="or the Idempotency-Key header"
    )


ERROR = inline_serializer(
    "RandomizationError",
    {
        "error": inline_serializer(
            "RandomizationErrorBody",
            {
                "code": serializers.CharField(),
                "field": serializers.CharField(),
                "message": serializers.CharField(),
            },
        )
    },
)


def _idempotency_key(request, field: str) -> str:
    header = request.headers.get("Idempotency-Key", "").strip()
    if header and field and header != field:
        raise DomainError(
            "idempotency_key_conflict",
            "idempotency_key",
            gettext("the Idempotency-Key header and the idempotency_key field differ"),
        )
    return header or field


class SubjectRandomizationView(APIView):
    @extend_schema(
        responses={200: AllocationSerializer, 404: ERROR},
        summary="Read a subject's allocation (404 when not randomized or not visible)",
    )
    def get(self, request, study_code, subject_id):
        allocation = selectors.subject_allocation(scope_of(request.user), study_code, subject_id)
        return Response(AllocationSerializer(allocation).data)

    @extend_schema(
        request=RandomizeRequest,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="repeat it on a retry to get the same allocation back (200)",
            )
        ],
        responses={
            201: AllocationSerializer,
            200: AllocationSerializer,
            400: ERROR,
            403: ERROR,
            404: ERROR,
            409: ERROR,
        },
        summary="Randomize a subject",
        description=(
            "Allocates the next slot of the subject's stratum. Refusals (JSON, stable codes): "
            "not_eligible, already_randomized, idempotency_key_reused, not_site_member, "
            "study_not_open, randomization_not_live, illegal_transition, strata_missing, "
            "strata_mismatch, strata_unknown, strata_invalid, stratum_not_available, "
            "list_exhausted."
        ),
    )
    def post(self, request, study_code, subject_id):
        body = RandomizeRequest(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.randomize_visible(
            ChangeContext.api(request),
            scope_of(request.user),
            study_code,
            subject_id,
            strata=body.validated_data.get("strata"),
            idempotency_key=_idempotency_key(
                request, body.validated_data.get("idempotency_key", "")
            ),
        )
        return Response(
            AllocationSerializer(result.allocation).data, status=201 if result.created else 200
        )


class CommitmentSerializer(serializers.Serializer):
    kind = serializers.CharField()
    generator = serializers.CharField()
    params_sha256 = serializers.CharField()
    list_sha256 = serializers.CharField()
    seed_sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()


class CommitmentsView(APIView):
    @extend_schema(
        responses=CommitmentSerializer(many=True),
        summary="The study's published commitments (hashes only)",
    )
    def get(self, request, study_code):
        study = get_study(scope_of(request.user), study_code)
        return Response(CommitmentSerializer(selectors.commitments(study), many=True).data)


class SlotSerializer(serializers.Serializer):
    stratum = serializers.CharField(source="stratum.key")
    sequence = serializers.IntegerField()
    block_number = serializers.IntegerField()
    block_size = serializers.IntegerField()
    position_in_block = serializers.IntegerField()
    arm = serializers.CharField()
    available = serializers.BooleanField()
    subject_id = serializers.SerializerMethodField()

    def get_subject_id(self, slot) -> str | None:
        allocation = getattr(slot, "allocation", None)
        try:
            return allocation.subject.subject_id if allocation else None
        except Allocation.DoesNotExist:
            return None


class AllocationListView(APIView):
    @extend_schema(
        responses={200: SlotSerializer(many=True), 403: ERROR},
        summary="The whole list with future slots (statistician only)",
    )
    def get(self, request, study_code):
        study = selectors.study_for_list(scope_of(request.user), study_code)
        return Response(SlotSerializer(selectors.allocation_list(study), many=True).data)


class SeedView(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "RandomizationSeed",
                {
                    "study": serializers.CharField(),
                    "generator": serializers.CharField(),
                    "seed": serializers.CharField(),
                    "salt": serializers.CharField(),
                },
            ),
            403: ERROR,
        },
        summary="The seed and salt for escrow (statistician only; every reveal is audited)",
    )
    def get(self, request, study_code):
        study = selectors.study_for_list(scope_of(request.user), study_code)
        seed, salt = services.reveal_seed(ChangeContext.api(request), study)
        return Response(
            {"study": study.code, "generator": GENERATOR, "seed": seed.hex(), "salt": salt.hex()}
        )


class BalanceView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 403: ERROR},
        summary=(
            "Balance by arm against the allocation ratio (counts, expected counts, imbalance = "
            "largest distance from the target in subjects) overall, by site, by stratum, "
            "stratum × site and factor level; list use"
        ),
    )
    def get(self, request, study_code):
        study = selectors.study_for_reports(scope_of(request.user), study_code)
        report = selectors.balance(study)

        def rows(items):
            return [
                {
                    "label": r.label,
                    "counts": r.counts,
                    "total": r.total,
                    "expected": r.expected,
                    "imbalance": r.imbalance,
                }
                for r in items
            ]

        return Response(
            {
                "arms": [{"code": c, "name": n, "ratio": report.ratios[c]} for c, n in report.arms]
                if report
                else [],
                "overall": rows([report.overall])[0] if report else None,
                "by_site": rows(report.by_site) if report else [],
                "by_stratum": rows(report.by_stratum) if report else [],
                "by_stratum_and_site": rows(report.by_stratum_and_site) if report else [],
                "by_factor_level": rows(report.by_factor_level) if report else [],
                "list_use": [
                    {"stratum": u.key, "used": u.used, "total": u.total, "withdrawn": u.withdrawn}
                    for u in selectors.list_use(study)
                ],
            }
        )
