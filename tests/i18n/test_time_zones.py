"""One rule for time: stored in UTC, shown in the reader's zone with the zone named; a site's
"today" is its own day; date-only clinical values never shift.

The clock stands at 2026-03-01 17:30 UTC: in Guangzhou (Asia/Shanghai, UTC+8) it is already
2026-03-02 01:30 CST."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from crf.services import save_form
from edc.accounts.selectors import reader_settings
from edc.accounts.services import set_preferences
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from randomization.models import Allocation
from randomization.services import follow_up_allocations, go_live
from tests.factories import SiteFactory, UserFactory, member, screen
from tests.randomization.helpers import registered_subject

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC)
GUANGZHOU_NOW = "2026-03-02 01:30 CST"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def guangzhou(study):
    return SiteFactory(study=study, code="01", name="SYSUCC", timezone="Asia/Shanghai")


@pytest.fixture
def coordinator(guangzhou):
    user = UserFactory(username="gz_coordinator")
    member(user, guangzhou, "site_staff")
    return user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_site_bound_reader_reads_in_the_site_zone_and_cannot_choose_another(coordinator):
    assert reader_settings(coordinator).time_zone == "Asia/Shanghai"
    assert not reader_settings(coordinator).may_choose_zone
    with pytest.raises(DomainError) as refused:
        set_preferences(ChangeContext.system(), coordinator, language="", time_zone="Europe/London")
    assert refused.value.code == "zone_fixed" and refused.value.field == "time_zone"


def test_a_guangzhou_site_treats_2026_03_02_as_today(clock, guangzhou, coordinator, study):
    assert guangzhou.today() == dt.date(2026, 3, 2)
    client = signed_in(coordinator)
    todo = client.get(reverse("reminders-todo", args=[study.code, guangzhou.code]))
    assert todo.status_code == 200
    assert re.search(r"<h1>[^<]*<small>SYSUCC, 2026-03-02</small>", todo.content.decode())
    # A consent signed today in Guangzhou is not "in the future", though the server's UTC
    # day is still 2026-03-01; tomorrow's is.
    screen_url = reverse("screen-subject", args=[study.code, guangzhou.code])
    future = client.post(screen_url, {"consent_date": "2026-03-03", "icf_version": "2.0"})
    assert future.status_code == 400 and "must not be after 2026-03-02" in future.content.decode()
    done = client.post(screen_url, {"consent_date": "2026-03-02", "icf_version": "2.0"})
    assert done.status_code == 302
    subject = coordinator.memberships.get().site.subjects.get()
    assert subject.screening_date == dt.date(2026, 3, 2)
    assert subject.consents.get().consent_date == dt.date(2026, 3, 2)


def test_pages_and_the_site_email_show_2026_03_02_01_30_cst(
    clock, guangzhou, coordinator, study, django_capture_on_commit_callbacks
):
    go_live(ChangeContext.system(), study, seed=bytes(range(32)))
    subject = registered_subject(guangzhou, "PR")
    client = signed_in(coordinator)
    url = reverse("randomize-subject", args=[study.code, subject.subject_id])
    key = re.search(r'name="idempotency_key" value="([^"]+)"', client.get(url).content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"idempotency_key": key.group(1)})
    assert done.status_code == 302
    allocation = Allocation.objects.get(subject=subject)
    assert allocation.randomized_at == NOW  # stored in UTC
    page = client.get(done.url).content.decode()
    assert f'<time datetime="2026-03-01T17:30:00+00:00">{GUANGZHOU_NOW}</time>' in page
    subject_page = client.get(reverse("subject-detail", args=[study.code, subject.subject_id]))
    assert GUANGZHOU_NOW in subject_page.content.decode()
    mail.outbox.clear()
    assert follow_up_allocations() == (1, 0)
    (sent,) = [m for m in mail.outbox if m.to == [guangzhou.staff_email]]
    assert f"Randomized at: {GUANGZHOU_NOW}" in sent.body
    assert "UTC" not in sent.body


def test_a_reader_whose_roles_span_sites_reads_in_the_zone_they_chose(
    clock, guangzhou, coordinator, study
):
    subject = screen(guangzhou, consent_date=dt.date(2026, 2, 20))
    save_form(
        ChangeContext(coordinator, "web"),
        subject,
        "SCREEN",
        1,
        "demographics",
        1,
        {"BRTHDAT": "1970-01-01", "SEX": "F"},
        row_version=0,
    )
    monitor = UserFactory(username="roaming_monitor")
    member(monitor, study, "monitor")
    assert reader_settings(monitor).may_choose_zone
    form_url = reverse(
        "crf-form", args=[study.code, subject.subject_id, "SCREEN", 1, "demographics", 1]
    )
    seen = {}
    for zone in ("America/Los_Angeles", "Pacific/Kiritimati", ""):
        set_preferences(ChangeContext.system(), monitor, language="", time_zone=zone)
        page = signed_in(monitor).get(form_url).content.decode()
        seen[zone or "default"] = re.search(r"last saved ([^<·]+?) *[<·]", page).group(1)
        # The birth date is a date: 1970-01-01 to every reader, whatever their zone.
        assert 'value="1970-01-01"' in page
    assert seen == {
        "America/Los_Angeles": "2026-03-01 09:30 PST",
        "Pacific/Kiritimati": "2026-03-02 07:30 +14",
        "default": GUANGZHOU_NOW,  # the zone of the study's sites
    }
    coordinator_page = signed_in(coordinator).get(form_url).content.decode()
    assert f"last saved {GUANGZHOU_NOW}" in coordinator_page
    assert 'value="1970-01-01"' in coordinator_page
