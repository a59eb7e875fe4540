"""The landing page shows site staff what is theirs to do: visits due or overdue, open queries
to answer, and (for investigators) forms awaiting their signature."""

import datetime as dt

import pytest

from edc.accounts.scoping import scope_of
from edc.datamanagement import selectors, services
from edc.web.selectors import site_work
from tests.factories import SiteFactory, UserFactory, member
from tests.reminders.conftest import enrol, load_reirr
from tests.sitework.conftest import ctx, logged_in, save_dm

pytestmark = pytest.mark.django_db


def test_site_staff_see_visits_due_or_overdue(db):
    study = load_reirr()
    site = SiteFactory(study=study, code="01")
    staff = UserFactory(username="nurse")
    member(staff, site, "site_staff")
    today = site.today()
    start = today - dt.timedelta(days=27)
    overdue = enrol(site, "IMMEDIATE", start, [start])
    elsewhere = SiteFactory(study=study, code="02")
    enrol(elsewhere, "IMMEDIATE", start, [start])

    [work] = site_work(scope_of(staff), staff)

    assert [i.visit.subject_id for i in work.visits] == [overdue.pk]
    page = logged_in(staff).get("/").content.decode()
    section = page[page.index('id="work-T-REIRR-01"') :]
    assert "1 visit due or overdue" in section and overdue.subject_id in section
    assert "overdue" in section


def test_open_queries_and_forms_awaiting_signature(
    subject, site, coordinator, investigator, data_manager, monitor
):
    form = save_dm(coordinator, subject)
    services.raise_query(ctx(data_manager), form, item_code="WEIGHT", text="?")

    [mine] = site_work(scope_of(coordinator), coordinator)
    [theirs] = site_work(scope_of(investigator), investigator)

    assert mine.queries == 1 and not mine.can_sign and mine.to_sign_count == 0
    assert theirs.can_sign and [f.pk for f in theirs.to_sign] == [form.pk]
    page = logged_in(investigator).get("/").content.decode()
    assert "1 open query to answer" in page and "1 form awaiting your signature" in page
    assert f"/studies/T-CRF/subjects/{subject.subject_id}/forms/SCREENING/1/dm/1/" in page
    # Signed, it no longer waits.
    services.sign(
        ctx(investigator),
        level="form",
        target=form,
        password="correct-horse-battery-9",
        meaning="ok",
    )
    assert selectors.awaiting_signature(scope_of(investigator), site).count() == 0
    # Sponsor-side roles have no site work on the landing page.
    assert site_work(scope_of(monitor), monitor) == []
