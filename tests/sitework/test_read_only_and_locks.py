"""Locked, signed and verified forms open read-only with who did it and when; a monitor verifies
a whole form in one action from it; the lock page names subjects and forms."""

import re

import pytest

from crf.models import FormInstance
from edc.datamanagement import services
from edc.datamanagement.models import Lock
from tests.factories import PASSWORD
from tests.sitework.conftest import DM, ctx, logged_in, save_dm

pytestmark = pytest.mark.django_db

FORM_URL = "/studies/T-CRF/subjects/{}/forms/SCREENING/1/dm/1/"


def banner(page: str) -> str:
    start = page.index('id="readonly-banner"')
    return page[start : page.index("</div>", start)]


def test_a_locked_form_is_read_only_and_says_who_locked_it(subject, coordinator, data_manager):
    save_dm(coordinator, subject)
    lock = services.lock(ctx(data_manager), "subject", subject, "database lock for interim")
    page = logged_in(coordinator).get(FORM_URL.format(subject.subject_id)).content.decode()
    text = banner(page)
    assert "Locked (subject lock) by Dana Manager on" in text
    assert lock.locked_at.strftime("%Y-%m-%d %H:%M") in text
    assert "database lock for interim" in text and "Change the data" not in text
    assert 'id="save"' not in page
    assert re.search(r'id="f-WEIGHT"[^>]* readonly', page)
    # ?edit=1 does not open a locked form.
    page = (
        logged_in(coordinator).get(FORM_URL.format(subject.subject_id) + "?edit=1").content.decode()
    )
    assert 'id="save"' not in page


def test_a_signed_form_is_read_only_until_opened_for_a_change(subject, coordinator, investigator):
    form = save_dm(coordinator, subject)
    signature = services.sign(
        ctx(investigator), level="form", target=form, password=PASSWORD, meaning="I attest"
    )
    client = logged_in(coordinator)
    page = client.get(FORM_URL.format(subject.subject_id)).content.decode()
    assert "Signed (form signature) by Hai Mai (pi) on " + signature.signed_at.strftime(
        "%Y-%m-%d %H:%M"
    ) in banner(page)
    assert 'id="save"' not in page and 'id="change-anyway"' in page
    page = client.get(FORM_URL.format(subject.subject_id) + "?edit=1").content.decode()
    assert 'id="save"' in page and "saving voids the signature" in page
    response = client.post(
        FORM_URL.format(subject.subject_id) + "?edit=1",
        {
            **DM,
            "WEIGHT": "62",
            "reason": "typo",
            "row_version": str(form.row_version),
            "action": "save",
        },
    )
    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.voided_at is not None


def test_a_monitor_verifies_the_whole_form_in_one_action(subject, coordinator, monitor):
    save_dm(coordinator, subject)
    client = logged_in(monitor)
    page = client.get(FORM_URL.format(subject.subject_id)).content.decode()
    assert 'id="verify-form"' in page
    form = FormInstance.objects.get(subject=subject)
    response = client.post(
        f"/studies/T-CRF/dm/forms/{form.pk}/sdv/", {"next": FORM_URL.format(subject.subject_id)}
    )
    assert response["Location"] == FORM_URL.format(subject.subject_id)
    page = client.get(FORM_URL.format(subject.subject_id)).content.decode()
    assert "Source-verified by Mona Tor on" in banner(page)
    assert 'id="verify-form"' not in page
    # The coordinator sees it read-only too.
    page = logged_in(coordinator).get(FORM_URL.format(subject.subject_id)).content.decode()
    assert 'id="save"' not in page and "Source-verified by Mona Tor" in page


def test_the_lock_page_names_subjects_and_forms(subject, coordinator, data_manager):
    save_dm(coordinator, subject)
    client = logged_in(data_manager)
    page = client.get("/studies/T-CRF/dm/locks/").content.decode()
    assert f'<option value="{subject.subject_id}">{subject.subject_id}</option>' in page
    assert 'type="number"' not in page  # no internal id to type
    page = client.post(
        "/studies/T-CRF/dm/locks/",
        {"level": "form", "subject": subject.subject_id, "action": "pick"},
    ).content.decode()
    form = FormInstance.objects.get(subject=subject)
    assert f'<option value="{form.pk}">Screening #1 · Demographics</option>' in page
    assert not Lock.objects.exists()
    response = client.post(
        "/studies/T-CRF/dm/locks/",
        {
            "level": "form",
            "subject": subject.subject_id,
            "form_id": str(form.pk),
            "reason": "clean",
            "action": "lock",
        },
    )
    assert response.status_code == 302
    assert Lock.objects.get().form_instance_id == form.pk


def test_a_form_of_another_subject_is_refused_inline(subject, coordinator, data_manager, site):
    from tests.factories import screen

    save_dm(coordinator, subject)
    other = screen(site)
    form = FormInstance.objects.get(subject=subject)
    response = logged_in(data_manager).post(
        "/studies/T-CRF/dm/locks/",
        {"level": "form", "subject": other.subject_id, "form_id": str(form.pk), "action": "lock"},
    )
    assert response.status_code in (200, 400)
    assert not Lock.objects.exists()
