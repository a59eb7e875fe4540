"""REST API for exports: start one, follow its progress, download the archive.

Data managers and statisticians only; site-limited ones get their own sites and see their
own exports. Every start and every download is audited.
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.exports import selectors, services
from edc.exports.models import FORMATS, ExportJob, ExportStatus
from edc.subjects.selectors import get_study


class ExportFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    format = serializers.CharField()
    table = serializers.CharField()
    rows = serializers.IntegerField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()


class ExportJobSerializer(serializers.ModelSerializer):
    study = serializers.CharField(source="study.code")
    requested_by = serializers.CharField(source="requested_by_name")
    sites = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "study",
            "status",
            "progress",
            "progress_note",
            "formats",
            "sites",
            "locked",
            "snapshot_id",
            "data_cut",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "archive_name",
            "archive_bytes",
            "error",
            "files",
            "download_url",
        ]

    @extend_schema_field(serializers.JSONField(help_text='"all" or a list of site codes'))
    def get_sites(self, job) -> list[str] | str:
        return "all" if job.all_sites else job.site_codes

    @extend_schema_field(ExportFileSerializer(many=True))
    def get_files(self, job) -> list[dict]:
        return (job.manifest or {}).get("files", [])

    def get_download_url(self, job) -> str | None:
        if job.status != ExportStatus.DONE:
            return None
        return f"/api/v1/studies/{job.study.code}/exports/{job.pk}/download/"


class StartExportRequest(serializers.Serializer):
    formats = serializers.ListField(
        child=serializers.ChoiceField(choices=[*FORMATS, "all"]),
        help_text="any of csv, xpt, parquet, odm; or all",
    )
    sites = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="site codes; default every site you may export",
    )


class StudyExportsView(APIView):
    @extend_schema(
        responses=ExportJobSerializer(many=True),
        summary="Exports of a study you may see (newest first)",
    )
    def get(self, request, study_code):
        scope = scope_of(request.user)
        study = get_study(scope, study_code)
        selectors.require_exporter(scope, study)
        jobs = selectors.visible_jobs(scope, study, request.user)
        return Response(ExportJobSerializer(jobs[:100], many=True).data)

    @extend_schema(
        request=StartExportRequest,
        responses={202: ExportJobSerializer},
        summary="Start an export (runs in the background; follow it at its URL)",
        description=(
            "Exports the locked snapshot when the study (or every site exported) is locked, "
            "otherwise current data marked UNLOCKED. Tables: one long table per form, "
            "form_instances, subjects, randomization, queries, query_messages, audit_trail, "
            "codebook, codelists and datasets; ODM 1.3.2 holds metadata, clinical data and "
            "audit records. A manifest lists every file with rows and SHA-256."
        ),
    )
    def post(self, request, study_code):
        scope = scope_of(request.user)
        study = get_study(scope, study_code)
        body = StartExportRequest(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.start_export(
            ChangeContext.api(request),
            scope,
            study,
            formats=body.validated_data["formats"],
            site_codes=body.validated_data.get("sites") or None,
        )
        return Response(ExportJobSerializer(job).data, status=202)


class ExportDetailView(APIView):
    @extend_schema(responses=ExportJobSerializer, summary="One export: status, progress, files")
    def get(self, request, study_code, pk):
        scope = scope_of(request.user)
        study = get_study(scope, study_code)
        job = selectors.get_job(scope, study, request.user, pk)
        return Response(ExportJobSerializer(job).data)


class ExportDownloadView(APIView):
    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="zip of every file and the manifest"
            ),
            409: OpenApiResponse(description="the export has not finished"),
        },
        summary="Download a finished export (zip)",
    )
    def get(self, request, study_code, pk):
        scope = scope_of(request.user)
        study = get_study(scope, study_code)
        job = selectors.get_job(scope, study, request.user, pk)
        return download_response(ChangeContext.api(request), job)


def download_response(ctx: ChangeContext, job: ExportJob) -> FileResponse:
    """The archive as a streamed response; refused (409) until the export is done."""
    name = services.archive_storage_name(job)
    storage = services.export_storage()
    if job.status != ExportStatus.DONE or name is None or not storage.exists(name):
        raise DomainError("not_ready", "status", f"the export is {job.status}", status=409)
    services.record_download(ctx, job)
    return FileResponse(
        storage.open(name, "rb"),
        as_attachment=True,
        filename=job.archive_name,
        content_type="application/zip",
    )
