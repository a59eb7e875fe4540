"""Canonical content of signed records and locked datasets, and its SHA-256. Pure Python.

A signature (21 CFR 11.70) and a study lock snapshot are bound to exactly this text: JSON with
sorted keys, no whitespace, UTF-8, forms ordered by subject, visit, visit repeat, form, form
repeat. Anyone can recompute it from an export to show the record is what was signed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Protocol, TypedDict


class FormRecord(TypedDict):
    subject: str
    event: str
    event_repeat: int
    form: str
    form_repeat: int
    status: str
    data: Any


class FilledForm(Protocol):
    event_code: str
    event_repeat: int
    form_code: str
    form_repeat: int
    status: str
    data: Any


def form_record(form: FilledForm, subject_code: str) -> FormRecord:
    return {
        "subject": subject_code,
        "event": form.event_code,
        "event_repeat": form.event_repeat,
        "form": form.form_code,
        "form_repeat": form.form_repeat,
        "status": form.status,
        "data": form.data,
    }


def target_label(
    subject_code: str,
    event_code: str = "",
    event_repeat: int | None = None,
    form_code: str = "",
    form_repeat: int | None = None,
) -> str:
    """How a signature names what it covers: subject, subject/visit or subject/visit/form."""
    label = subject_code
    if event_code:
        label += f"/{event_code}#{event_repeat}"
    if form_code:
        label += f"/{form_code}#{form_repeat}"
    return label


def _order(record: FormRecord) -> tuple:
    return (
        record["subject"],
        record["event"],
        record["event_repeat"],
        record["form"],
        record["form_repeat"],
    )


def canonical_json(content: Any) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sha256_hex(content: Any) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def signed_content(level: str, target: str, forms: Iterable[FormRecord]) -> dict:
    """What a signature covers: its level, the target it names and every form under it."""
    return {"level": level, "target": target, "forms": sorted(forms, key=_order)}


def dataset_content(study_code: str, forms: Iterable[FormRecord]) -> dict:
    """What a study lock snapshot covers: every form of the study."""
    return {"study": study_code, "forms": sorted(forms, key=_order)}


def dataset_sha256(study_code: str, ordered_forms: Iterable[FormRecord]) -> tuple[str, int]:
    """`sha256_hex(dataset_content(...))` and the number of forms, hashed as the forms stream by
    so a large study is never held in memory; the forms must come in canonical order."""
    digest = hashlib.sha256(b'{"forms":[')
    count = 0
    for record in ordered_forms:
        if count:
            digest.update(b",")
        digest.update(canonical_json(record))
        count += 1
    digest.update(b'],"study":' + canonical_json(study_code) + b"}")
    return digest.hexdigest(), count
