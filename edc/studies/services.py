"""Loading study definitions into the database."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from edc.audit.context import ChangeContext
from edc.audit.services import Change, apply_changes, record_changes
from edc.errors import DomainError
from edc.studies.models import ProtocolVersion, Site, Study
from edc.studies.protocol import DefinitionError, canonical_sha256, check_file, validate


@dataclass(frozen=True)
class LoadResult:
    study: Study
    version: ProtocolVersion
    created_study: bool
    created_version: bool


def load_study_file(ctx: ChangeContext, path: Path) -> LoadResult:
    data, problems = check_file(path)
    if problems:
        raise DefinitionError(problems)
    return load_study_definition(ctx, data, source_name=Path(path).name)


@transaction.atomic
def load_study_definition(ctx: ChangeContext, data: dict, *, source_name: str) -> LoadResult:
    """Load or update a study. A changed definition becomes a new protocol version; an
    unchanged one is a no-op. Data already entered keeps the version it was entered under."""
    problems = validate(data)
    if problems:
        raise DefinitionError(problems)
    digest = canonical_sha256(data)
    contacts = data.get("contacts", {})
    fields = {
        "title": data["title"],
        "nct_number": data["identifiers"].get("nct", ""),
        "sponsor_protocol_number": data["identifiers"].get("sponsor_protocol", ""),
        "phase": data["phase"],
        "target_enrollment": data.get("target_enrollment"),
        "safety_contact_email": contacts.get("safety_email", ""),
        "admin_email": contacts.get("admin_email", ""),
    }
    study = Study.objects.select_for_update().filter(code=data["code"]).first()
    created_study = study is None
    if created_study:
        study = Study.objects.create(code=data["code"], **fields)
    existing = study.versions.filter(sha256=digest).first()
    if existing is not None:
        if study.current_version_id != existing.pk:
            study.current_version = existing
            study.save(update_fields=["current_version"])
        return LoadResult(study, existing, created_study, False)
    number = (study.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ProtocolVersion.objects.create(
        study=study,
        number=number,
        label=str(data.get("version", "")),
        sha256=digest,
        source_name=source_name,
        definition=data,
        loaded_by=ctx.actor,
    )
    changes = apply_changes(study, fields)
    previous = study.current_version.number if study.current_version_id else None
    study.current_version = version
    study.save()
    changes.append(Change("protocol_version", previous, number))
    record_changes(
        ctx,
        "protocol_loaded",
        changes,
        object_type="studies.Study",
        object_id=study.pk,
        study=study,
    )
    return LoadResult(study, version, created_study, True)


@transaction.atomic
def create_site(
    ctx: ChangeContext,
    study: Study,
    *,
    code: str,
    name: str,
    timezone: str = "Asia/Shanghai",
    staff_email: str = "",
    language: str = "en",
) -> Site:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DomainError(
            "invalid_timezone", "timezone", f"{timezone!r} is not an IANA time zone name"
        ) from None
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise DomainError(
            "invalid_language", "language", f"{language!r} is not a language of this system"
        )
    site = Site.objects.create(
        study=study,
        code=code,
        name=name,
        timezone=timezone,
        staff_email=staff_email,
        language=language,
    )
    record_changes(
        ctx,
        "create",
        [Change("code", None, code), Change("name", None, name)],
        object_type="studies.Site",
        object_id=site.pk,
        study=study,
        site=site,
    )
    return site
