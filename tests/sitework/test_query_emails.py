"""A new query e-mails the site: one e-mail per query, or one daily digest per site, as the site
chose; each exactly once (database constraints), through a real SMTP server, with no clinical
value in it."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from edc.datamanagement import services, tasks
from edc.datamanagement.models import Query, QueryEmailMode, QueryNotice, SiteQuerySettings
from tests.sitework.conftest import ctx, save_dm

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(subject, coordinator):
    return save_dm(coordinator, subject, {"WEIGHT": "61.5"})


def test_a_new_query_is_e_mailed_to_the_site_once_without_values(
    form, subject, coordinator, data_manager, smtp
):
    query = services.raise_query(
        ctx(data_manager), form, item_code="WEIGHT", text="The chart says 65.1 kg?"
    )
    assert QueryNotice.objects.get().query == query

    result = tasks.send_query_notices.apply().get()
    again = tasks.send_query_notices.apply().get()

    assert result == {"sent": 1, "withheld": 0} and again == {"sent": 0, "withheld": 0}
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert "site01@example.org" in recipients
    body = message.get_content()
    assert message["Subject"] == f"[T-CRF] New query Q{query.pk} for {subject.subject_id}"
    assert "Demographics" in body and "Weight" in body and f"/dm/queries/{query.pk}/" in body
    # Neither the stored value nor the question (which quotes the source) is in the e-mail.
    assert "61.5" not in body and "65.1" not in body and "chart" not in body
    notice = QueryNotice.objects.get()
    assert (notice.state, notice.recipients) == ("sent", recipients)


def test_the_database_refuses_a_second_notice_for_one_query(form, data_manager):
    query = services.raise_query(ctx(data_manager), form, item_code="SEX", text="?")
    with pytest.raises(IntegrityError), transaction.atomic():
        QueryNotice.objects.create(kind="immediate", site_id=query.site_id, query=query)


def test_a_digest_site_gets_one_e_mail_a_day_listing_its_new_queries(
    form, site, data_manager, monitor, smtp
):
    SiteQuerySettings.objects.create(site=site, email_mode=QueryEmailMode.DAILY)
    first = services.raise_query(ctx(data_manager), form, item_code="SEX", text="?")
    second = services.raise_query(ctx(monitor), form, item_code="WEIGHT", text="?")
    assert not QueryNotice.objects.exists()
    day = timezone.now().date()

    result = tasks.send_query_digests.apply(kwargs={"day": day.isoformat()}).get()
    rerun = tasks.send_query_digests.apply(kwargs={"day": day.isoformat()}).get()

    assert result == {"queued": 1, "sent": 1, "withheld": 0}
    assert rerun == {"queued": 0, "sent": 0, "withheld": 0}
    assert len(smtp.messages) == 1
    _, message = smtp.messages[0]
    assert message["Subject"] == f"[T-CRF] Site 01: 2 new query(ies) on {day}"
    body = message.get_content()
    assert f"Q{first.pk}" in body and f"Q{second.pk}" in body
    assert QueryNotice.objects.get().items == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        QueryNotice.objects.create(kind="digest", site=site, day=day)
    # The day before had no query: no digest for it.
    assert services.queue_query_digests(day - dt.timedelta(days=1)) == []


def test_a_site_that_wants_no_e_mail_gets_none(form, site, data_manager):
    SiteQuerySettings.objects.create(site=site, email_mode=QueryEmailMode.OFF)
    services.raise_query(ctx(data_manager), form, item_code="SEX", text="?")
    assert services.queue_query_digests(timezone.now().date()) == []
    assert not QueryNotice.objects.exists()


def test_edit_check_queries_are_not_e_mailed(subject, coordinator):
    # The person saving confirmed the warning themselves: telling their site is noise.
    save_dm(coordinator, subject, {"WEIGHT": "160"}, confirm_warnings=True)
    assert Query.objects.get().source == "edit_check"
    assert not QueryNotice.objects.exists()


def test_a_study_admin_sets_a_sites_query_e_mails_in_the_admin_and_it_is_audited(site, crf_study):
    from edc.audit.models import AuditEvent
    from tests.factories import UserFactory, member
    from tests.sitework.conftest import logged_in

    admin_user = UserFactory(username="sadmin", is_staff=True)
    member(admin_user, crf_study, "study_admin")
    response = logged_in(admin_user).post(
        "/admin/datamanagement/sitequerysettings/add/",
        {"site": site.pk, "email_mode": "daily"},
    )
    assert response.status_code == 302
    assert SiteQuerySettings.objects.get(site=site).email_mode == "daily"
    row = AuditEvent.objects.get(object_type="datamanagement.SiteQuerySettings")
    assert (row.item, row.new_value, row.actor) == ("email_mode", "daily", admin_user)


def test_a_query_cancelled_before_sending_is_not_e_mailed(form, data_manager, smtp):
    query = services.raise_query(ctx(data_manager), form, item_code="SEX", text="?")
    services.act_on_query(ctx(data_manager), query, "cancel", "raised on the wrong form")
    assert tasks.send_query_notices.apply().get() == {"sent": 0, "withheld": 1}
    assert smtp.messages == []
    assert QueryNotice.objects.get().state == "suppressed"
