"""Randomization API: thin views over services and selectors. Errors are JSON with a stable
code (edc.api.errors); a subject outside the caller's sites is 404."""

from __future__ import annotations

from collections.abc import Mapping

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
from randomization import selectors, services
from randomization.models import Allocation
from randomization.scheme_params import GENERATOR


class ArmSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class StratumSerializer(serializers.Serializer):
    key = serializers.CharField()
    values = serializers.DictField(child=serializers.CharField())


_TIMESTAMP = serializers.DateTimeField()


class AllocationSerializer(serializers.Serializer):
    """The allocation as the API gives it. The declared fields document it (OpenAPI); the
    payload is built directly, because copying the fields for every response cost a sizeable
    share of an allocation's server CPU (make bench-randomize). test_api holds the two equal."""

    subject_id = serializers.CharField()
    study = serializers.CharField()
    site = serializers.CharField()
    arm = ArmSerializer()
    sequence = serializers.IntegerField(help_text="randomization number within the stratum")
    stratum = StratumSerializer()
    randomized_at = serializers.DateTimeField()
    randomized_by = serializers.CharField()
    channel = serializers.CharField()

    def to_representation(self, allocation: Allocation) -> dict:
        return {
            "subject_id": allocation.subject.subject_id,
            "study": allocation.study.code,
            "site": allocation.site.code,
            "arm": {
                "code": allocation.arm,
                "name": selectors.arm_name(allocation.scheme, allocation.arm),
            },
            "sequence": allocation.sequence,
            "stratum": {"key": allocation.stratum.key, "values": allocation.stratum_values},
            "randomized_at": _TIMESTAMP.to_representation(allocation.randomized_at),
            "randomized_by": allocation.randomized_by_username,
            "channel": allocation.channel,
        }


class RandomizeRequest(serializers.Serializer):
    """The request body as documented (OpenAPI). It is read by ``randomize_body``, which gives
    the same fields with errors in the API's shape (the key's length is the service's check):
    building this serializer's fields for every request cost a sizeable share of an
    allocation's server CPU (make bench-randomize). test_api holds the two equal."""

    strata = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="factor code -> level; optional, refused when it disagrees with the CRF",
    )
    idempotency_key = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="or the Idempotency-Key header"
    )


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("invalid", field, message)


def randomize_body(data) -> tuple[dict[str, str] | None, str]:
    """(strata, idempotency_key) from a RandomizeRequest body; DomainError ``invalid`` naming
    the field otherwise."""
    if not isinstance(data, Mapping):
        raise _invalid("", gettext("the body must be a JSON object"))
    strata = data.get("strata")
    if strata is not None:
        if not isinstance(strata, Mapping):
            raise _invalid("strata", gettext("must be an object of factor code -> level"))
        levels = {}
        for code, level in strata.items():
            # As the declared CharField child: numbers are read as their text, nothing else.
            if isinstance(level, bool) or not isinstance(level, str | int | float):
                raise _invalid(f"strata.{code}", gettext("must be a level code (a string)"))
            levels[str(code)] = str(level).strip()
            if not levels[str(code)]:
                raise _invalid(f"strata.{code}", gettext("must not be blank"))
        strata = levels
    key = data.get("idempotency_key", "")
    if key is None or not isinstance(key, str):
        raise _invalid("idempotency_key", gettext("must be a string"))
    # Its length (at most 100) is checked by the service, for every caller.
    return strata, key.strip()


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
        strata, key = randomize_body(request.data)
        result = services.randomize_visible(
            ChangeContext.api(request),
            scope_of(request.user),
            study_code,
            subject_id,
            strata=strata,
            idempotency_key=_idempotency_key(request, key),
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
        summary="Balance by arm overall, by site, by stratum and stratum × site; list use",
    )
    def get(self, request, study_code):
        study = selectors.study_for_reports(scope_of(request.user), study_code)
        report = selectors.balance(study)

        def rows(items):
            return [
                {"label": r.label, "counts": r.counts, "total": r.total, "imbalance": r.imbalance}
                for r in items
            ]

        return Response(
            {
                "arms": [{"code": c, "name": n} for c, n in report.arms] if report else [],
                "overall": rows([report.overall])[0] if report else None,
                "by_site": rows(report.by_site) if report else [],
                "by_stratum": rows(report.by_stratum) if report else [],
                "by_stratum_and_site": rows(report.by_stratum_and_site) if report else [],
                "list_use": [
                    {"stratum": u.key, "used": u.used, "total": u.total, "withdrawn": u.withdrawn}
                    for u in selectors.list_use(study)
                ],
            }
        )
