"""Parsed study definitions by protocol version.

A ProtocolVersion row never changes once loaded (its content hash is unique per study), so the
parsed definition and its index can be kept for the life of the process: saving a form then costs
no query and no JSON parsing for the definition.
"""

from __future__ import annotations

from functools import lru_cache

from crf.study_forms import StudyForms
from edc.studies.models import ProtocolVersion
from edc.studies.texts import active_language, localized


@lru_cache(maxsize=128)
def study_forms(protocol_version_id: int) -> StudyForms:
    definition = ProtocolVersion.objects.values_list("definition", flat=True).get(
        pk=protocol_version_id
    )
    return StudyForms.of(definition)


def shown_forms(protocol_version_id: int) -> StudyForms:
    """The definition as the reader sees it: every study text in the active language (codes and
    rules unchanged). For laying out pages only; services validate and store with study_forms."""
    return _shown_forms(protocol_version_id, active_language())


@lru_cache(maxsize=256)
def _shown_forms(protocol_version_id: int, language: str) -> StudyForms:
    return StudyForms.of(localized(study_forms(protocol_version_id).definition, language))
