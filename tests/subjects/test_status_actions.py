"""The subject page's status actions: each lifecycle move a role may make has a button and a
confirmation page that says what will happen; one service call per POST, with audit rows."""

import datetime as dt

import pytest
from django.test import Client

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.subjects import services
from edc.subjects.labels import ACTION_TEXTS
from edc.subjects.lifecycle import ACTIONS, Action, Status
from edc.subjects.models import Subject
from tests.factories import UserFactory, member, screen

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(subject, action) -> str:
    return f"/studies/{subject.study.code}/subjects/{subject.subject_id}/status/{action}/"


def post(client, subject, action, **data):
    subject.refresh_from_db()
    return client.post(url(subject, action), {"row_version": subject.row_version, **data})


def test_the_subject_page_offers_each_allowed_action_and_no_internal_state_name(
    site_a, coordinator_a
):
    subject = screen(site_a)
    html = client_for(coordinator_a).get(f"/studies/T-MINI/subjects/{subject.subject_id}/")
    text = html.content.decode()
    for action in (Action.REGISTER, Action.SCREEN_FAIL, Action.OFF_STUDY, Action.DEATH):
        assert f'id="action-{action.value}"' in text
    assert 'id="action-start-treatment"' not in text
    assert ">screening<" not in text and "Screening" in text

    services.transition(ChangeContext.system(), subject, Status.SCREEN_FAILED)
    text = client_for(coordinator_a).get(f"/studies/T-MINI/subjects/{subject.subject_id}/")
    text = text.content.decode()
    assert "screen_failed" not in text.replace("status-screen_failed", "")
    assert "Screen failure" in text and 'id="status-actions"' not in text


def test_a_monitor_sees_no_status_action_and_may_not_post_one(site_a):
    monitor = UserFactory(username="monitor_a")
    member(monitor, site_a, "monitor")
    subject = screen(site_a)
    client = client_for(monitor)
    page = client.get(f"/studies/T-MINI/subjects/{subject.subject_id}/").content.decode()
    assert 'id="status-actions"' not in page
    assert post(client, subject, "register", on_date=TODAY.isoformat()).status_code == 403
    assert Subject.objects.get(pk=subject.pk).status == Status.SCREENING


def test_the_confirmation_page_says_what_will_happen_and_register_moves_the_subject(
    site_a, coordinator_a
):
    subject = screen(site_a)
    client = client_for(coordinator_a)
    page = client.get(url(subject, "register")).content.decode()
    assert str(ACTION_TEXTS[Action.REGISTER].outcome) in page
    assert 'name="on_date"' in page and 'name="reason"' not in page
    response = post(client, subject, "register", on_date=TODAY.isoformat())
    assert response.status_code == 302
    subject.refresh_from_db()
    assert (subject.status, subject.registration_date) == (Status.REGISTERED, TODAY)
    row = AuditEvent.objects.get(subject=subject, action="transition", item="status")
    assert (row.old_value, row.new_value, row.actor) == ("screening", "registered", coordinator_a)


def test_a_screen_failure_needs_a_reason_which_the_audit_trail_keeps(site_a, coordinator_a):
    subject = screen(site_a)
    client = client_for(coordinator_a)
    refused = post(client, subject, "screen-fail", reason="  ")
    assert refused.status_code == 400
    assert "This field is required" in refused.content.decode()
    assert Subject.objects.get(pk=subject.pk).status == Status.SCREENING
    assert not AuditEvent.objects.filter(subject=subject, action="transition").exists()

    assert post(client, subject, "screen-fail", reason="HBV DNA too high").status_code == 302
    row = AuditEvent.objects.get(subject=subject, action="transition", item="status")
    assert (row.new_value, row.reason) == ("screen_failed", "HBV DNA too high")


def test_off_study_needs_a_reason_choice_and_a_plausible_date(site_a, coordinator_a):
    subject = screen(site_a)
    client = client_for(coordinator_a)
    no_choice = post(client, subject, "off-study", on_date=TODAY.isoformat(), reason="moved")
    assert no_choice.status_code == 400
    year_one = post(
        client,
        subject,
        "off-study",
        on_date="0001-01-01",
        off_study_reason="lost_to_follow_up",
        reason="moved away",
    )
    assert year_one.status_code == 400 and "before 1900-01-01" in year_one.content.decode()
    assert Subject.objects.get(pk=subject.pk).status == Status.SCREENING
    done = post(
        client,
        subject,
        "off-study",
        on_date=TODAY.isoformat(),
        off_study_reason="lost_to_follow_up",
        reason="moved away",
    )
    assert done.status_code == 302
    subject.refresh_from_db()
    assert (subject.status, subject.off_study_reason, subject.off_study_date) == (
        Status.OFF_STUDY,
        "lost_to_follow_up",
        TODAY,
    )
    page = client.get(f"/studies/T-MINI/subjects/{subject.subject_id}/").content.decode()
    assert "Lost to follow-up" in page and "lost_to_follow_up" not in page


def test_a_stale_confirmation_page_is_refused(site_a, coordinator_a):
    subject = screen(site_a)
    client = client_for(coordinator_a)
    stale = subject.row_version
    services.transition(ChangeContext.system(), subject, Status.REGISTERED)
    response = client.post(
        url(subject, "screen-fail"), {"row_version": stale, "reason": "double click"}
    )
    assert response.status_code == 409
    assert Subject.objects.get(pk=subject.pk).status == Status.REGISTERED


def test_an_action_not_allowed_from_the_current_status_is_refused_in_words(site_a, coordinator_a):
    subject = screen(site_a)
    client = client_for(coordinator_a)
    page = client.get(url(subject, "start-treatment"))
    assert page.status_code == 409
    text = page.content.decode()
    assert "not possible from the subject" in text and 'id="confirm-action"' not in text
    assert post(client, subject, "start-treatment").status_code == 409
    assert Subject.objects.get(pk=subject.pk).status == Status.SCREENING


@pytest.fixture
def randomized_subject(site_a):
    from randomization.services import go_live, randomize
    from tests.randomization.helpers import registered_subject

    go_live(ChangeContext.system(), site_a.study)
    subject = registered_subject(site_a, "PR")
    randomize(ChangeContext.system(), subject)
    return Subject.objects.get(pk=subject.pk)


def test_withdrawal_from_treatment_keeps_follow_up_and_withdrawal_from_all_ends_it(
    randomized_subject, site_a, coordinator_a
):
    client = client_for(coordinator_a)
    subject = randomized_subject
    assert post(client, subject, "withdraw-from-treatment", reason="toxicity").status_code == 302
    subject.refresh_from_db()
    assert subject.status == Status.OFF_TREATMENT_FOLLOWUP
    assert subject.treatment_consent_withdrawn and not subject.off_study_reason

    page = client.get(f"/studies/T-MINI/subjects/{subject.subject_id}/").content.decode()
    assert 'id="action-withdraw-from-follow-up"' in page
    assert 'id="action-withdraw-from-treatment"' not in page
    response = post(
        client,
        subject,
        "withdraw-from-follow-up",
        on_date=TODAY.isoformat(),
        reason="no more contact wanted",
    )
    assert response.status_code == 302
    subject.refresh_from_db()
    assert (subject.status, subject.off_study_reason) == (
        Status.OFF_STUDY,
        "withdrawal_all_follow_up",
    )


def test_a_death_is_recorded_once_on_the_subject(randomized_subject, coordinator_a):
    client = client_for(coordinator_a)
    subject = randomized_subject
    assert post(client, subject, "death").status_code == 400  # the date is required
    consented = subject.consents.get().consent_date
    before = post(
        client, subject, "death", death_date=(consented - dt.timedelta(days=1)).isoformat()
    )
    assert (
        before.status_code == 400 and "before the informed consent date" in before.content.decode()
    )
    died = TODAY - dt.timedelta(days=2)
    assert post(client, subject, "death", death_date=died.isoformat()).status_code == 302
    subject.refresh_from_db()
    assert (subject.status, subject.off_study_reason, subject.death_date) == (
        Status.OFF_STUDY,
        "death",
        died,
    )
    rows = AuditEvent.objects.filter(subject=subject, item="death_date")
    assert [(r.old_value, r.new_value) for r in rows] == [(None, died.isoformat())]


def test_a_second_different_death_date_is_refused(site_a):
    subject = screen(
        site_a,
        consent_date=TODAY - dt.timedelta(days=5),
        screening_date=TODAY - dt.timedelta(days=4),
    )
    died = TODAY - dt.timedelta(days=1)
    services.transition(
        ChangeContext.system(), subject, Status.REGISTERED, death_date=died
    )  # recorded by a survival form's path, say, before the subject went off study
    with pytest.raises(services.SubjectError) as err:
        services.apply_action(
            ChangeContext.system(),
            Subject.objects.get(pk=subject.pk),
            "death",
            row_version=Subject.objects.get(pk=subject.pk).row_version,
            death_date=TODAY,
        )
    assert err.value.code == "death_already_recorded"
    assert Subject.objects.get(pk=subject.pk).death_date == died


def test_every_action_has_words_and_every_reason_free_action_is_a_plain_move():
    assert set(ACTION_TEXTS) == set(Action)
    for action, rule in ACTIONS.items():
        if rule.target == Status.OFF_STUDY and not rule.death:
            assert rule.reason, f"{action} ends follow-up: the audit trail needs a reason"


def test_induction_start_and_failure_in_a_register_before_induction_study(db):
    from tests.factories import SiteFactory, load_study

    study = load_study("t-lrrt.yaml")
    site = SiteFactory(study=study, code="01")
    staff = UserFactory(username="lrrt_staff")
    member(staff, site, "site_staff")
    subject = screen(site)
    client = client_for(staff)
    assert post(client, subject, "register", on_date=TODAY.isoformat()).status_code == 302
    assert post(client, subject, "start-induction").status_code == 302
    assert Subject.objects.get(pk=subject.pk).status == Status.INDUCTION
    assert post(client, subject, "fail-induction", reason="PD after 2 cycles").status_code == 302
    assert Subject.objects.get(pk=subject.pk).status == Status.INDUCTION_FAILED


def test_a_survival_form_and_the_death_action_share_one_death_record(db):
    from crf.definitions import study_forms
    from crf.sample_values import sample_form
    from crf.services import save_form
    from edc.errors import DomainError
    from tests.factories import SiteFactory, load_study

    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01")
    staff = UserFactory(username="refr_staff")
    member(staff, site, "site_staff")
    subject = screen(
        site,
        consent_date=TODAY - dt.timedelta(days=30),
        screening_date=TODAY - dt.timedelta(days=29),
    )
    surv = study_forms(subject.protocol_version_id).forms["surv"]
    died = TODAY - dt.timedelta(days=3)
    codelists = study_forms(subject.protocol_version_id).codelists
    values = sample_form(
        surv,
        codelists,
        TODAY,
        {"SSSTAT": "DEAD", "DTHDAT": died.isoformat(), "NEWTX": "N", "SSPROG": "N"},
    )
    ctx = ChangeContext(staff, "web")
    save_form(ctx, subject, "SURVIVAL", 1, "surv", 1, values, row_version=0, confirm_warnings=True)
    subject.refresh_from_db()
    assert subject.death_date == died

    # The status action opens on that death and completes it, without a second record.
    client = client_for(staff)
    page = client.get(url(subject, "death")).content.decode()
    assert f'value="{died.isoformat()}"' in page
    assert post(client, subject, "death", death_date=died.isoformat()).status_code == 302
    subject.refresh_from_db()
    assert (subject.status, subject.off_study_reason, subject.death_date) == (
        Status.OFF_STUDY,
        "death",
        died,
    )
    assert AuditEvent.objects.filter(subject=subject, item="death_date").count() == 1

    # Another form reporting another date is refused, nothing saved.
    other = {**values, "DTHDAT": (died - dt.timedelta(days=1)).isoformat()}
    with pytest.raises(DomainError) as err:
        save_form(
            ctx, subject, "SURVIVAL", 2, "surv", 1, other, row_version=0, confirm_warnings=True
        )
    assert (err.value.code, err.value.field) == ("death_already_recorded", "DTHDAT")
    assert Subject.objects.get(pk=subject.pk).death_date == died
