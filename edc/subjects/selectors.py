"""Reads of subjects, always through the caller's Scope."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from edc.accounts.roles import Permission
from edc.accounts.scoping import Scope
from edc.studies.models import Site, Study
from edc.subjects.models import Subject


def visible_subjects(scope: Scope, permission: Permission = Permission.VIEW_DATA):
    return scope.filter(Subject.objects.all(), permission=permission)


def get_study(scope: Scope, code: str) -> Study:
    return get_object_or_404(scope.studies().select_related("current_version"), code=code)


def get_site(scope: Scope, study: Study, site_code: str) -> Site:
    return get_object_or_404(scope.sites().filter(study=study), code=site_code)


def get_subject(scope: Scope, study_code: str, subject_id: str) -> Subject:
    """A subject outside the caller's sites is simply not found (404)."""
    queryset = visible_subjects(scope).select_related(
        "study__current_version", "site", "protocol_version"
    )
    return get_object_or_404(queryset, study__code=study_code, subject_id=subject_id)


def site_subjects(scope: Scope, site: Site):
    return (
        visible_subjects(scope)
        .filter(site=site)
        .select_related("study", "site")
        .order_by("subject_id")
    )
