"""Writing the CTCAE term table (audited, one transaction per import)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from crf.ctcae_table import TermRow
from crf.models import CtcaeTerm
from edc.audit.context import ChangeContext
from edc.audit.services import Change, record_changes

VERSION = "5.0"
FIELDS = [
    "soc",
    "term",
    "grades",
    "grade_text",
    "definition",
    "navigational_note",
    "is_other_specify",
    "source",
]


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int


def _fields(row: TermRow, source: str) -> dict:
    values = {
        "soc": row.soc,
        "term": row.term,
        "grades": list(row.grades),
        "grade_text": row.grade_text,
        "definition": row.definition,
        "navigational_note": row.navigational_note,
        "is_other_specify": row.is_other_specify,
        "source": source,
    }
    return {name: values[name] for name in FIELDS}


@transaction.atomic
def import_terms(ctx: ChangeContext, rows: Iterable[TermRow], *, source: str) -> ImportSummary:
    """Insert or update terms by MedDRA code; a term not in the file is left as it is."""
    existing = {t.meddra_code: t for t in CtcaeTerm.objects.filter(version=VERSION)}
    created: list[CtcaeTerm] = []
    updated: list[CtcaeTerm] = []
    changes: list[Change] = []
    unchanged = 0
    for row in rows:
        fields = _fields(row, source)
        term = existing.get(row.meddra_code)
        if term is None:
            created.append(CtcaeTerm(version=VERSION, meddra_code=row.meddra_code, **fields))
            changes.append(Change(row.meddra_code, None, f"{row.term} {list(row.grades)}"))
            continue
        different = {k: v for k, v in fields.items() if k != "source" and getattr(term, k) != v}
        if not different:
            unchanged += 1
            continue
        changes.append(Change(row.meddra_code, {k: getattr(term, k) for k in different}, different))
        for name, value in fields.items():
            setattr(term, name, value)
        updated.append(term)
    CtcaeTerm.objects.bulk_create(created)
    if updated:
        CtcaeTerm.objects.bulk_update(updated, FIELDS)
    record_changes(ctx, "ctcae_import", changes, object_type="crf.CtcaeTerm", object_id=source)
    return ImportSummary(len(created), len(updated), unchanged)
