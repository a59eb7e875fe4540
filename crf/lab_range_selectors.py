"""Reads of site laboratory normal ranges."""

from __future__ import annotations

from crf.lab_ranges import SiteRange
from crf.models import LabNormalRange
from edc.studies.models import Site

_FIELDS = (
    "pk",
    "lab_test",
    "unit",
    "sex",
    "age_from",
    "age_to",
    "lln",
    "uln",
    "effective_from",
)


def site_ranges(site_id: int) -> list[SiteRange]:
    """Every range of a site, as the pure filling rules take them. One query."""
    return [
        SiteRange(*row)
        for row in LabNormalRange.objects.filter(site_id=site_id).order_by().values_list(*_FIELDS)
    ]


def ranges_for_page(site: Site):
    """A site's ranges for the list page: test, sex and age band, newest first."""
    return LabNormalRange.objects.filter(site=site).order_by(
        "lab_test", "sex", "age_from", "age_to", "-effective_from"
    )


def range_of(site: Site, pk: int) -> LabNormalRange | None:
    return LabNormalRange.objects.filter(site=site, pk=pk).first()
