"""Where schedule events come from: saved CRF forms (treatment, tumour assessment, disposition),
randomization and subject lifecycle transitions."""

import io

from django.core.management import call_command

from crf.models import FormInstance, FormStatus, ProtocolDeviation
from edc.audit.models import AuditEvent
from edc.reminders import selectors, services
from edc.reminders.models import PlannedVisit, ScheduleEvent
from edc.subjects import services as subject_services
from tests.factories import screen
from tests.reminders.conftest import DAY, SYSTEM, D, enrol, status, targets, visit

RANDOMIZATION = D(2026, 3, 2)


def save_form(
    subject, event, repeat, form, data, status=FormStatus.COMPLETE, instance=None, today=None
):
    """What the CRF save path does: store the form, then call the hook in the same transaction."""
    if instance is None:
        instance = FormInstance.objects.create(
            subject=subject, study=subject.study, site=subject.site,
            protocol_version_id=subject.protocol_version_id, event_code=event, event_repeat=repeat,
            form_code=form, data=data, status=status,
        )  # fmt: skip
    else:
        instance.data, instance.status = data, status
        instance.row_version += 1
        instance.save()
    return instance, services.on_form_saved(SYSTEM, instance, today=today)


def live(subject):
    return list(
        ScheduleEvent.objects.filter(subject=subject, voided_at__isnull=True).values_list(
            "kind", "on"
        )
    )


def test_forms_that_cannot_touch_the_schedule_cost_no_query(site, django_assert_num_queries):
    subject = enrol(site, "IMMEDIATE", RANDOMIZATION)
    ae, _ = save_form(
        subject, "UNSCHEDULED", 1, "ae", {"AETERM": "Fatigue", "AESTDAT": "2026-03-05"}
    )
    draft, _ = save_form(
        subject, "IMAGING", 1, "vs", {"VSDAT": "2026-05-25"}, status=FormStatus.IN_PROGRESS
    )
    unscheduled_vs, _ = save_form(subject, "UNSCHEDULED", 1, "vs", {"VSDAT": "2026-03-09"})
    with django_assert_num_queries(0):
        for instance in (ae, draft, unscheduled_vs):
            assert services.on_form_saved(SYSTEM, instance) is None


def test_treatment_form_records_the_dose_and_an_edited_date_is_re_evaluated(site):
    subject = enrol(site, "IMMEDIATE", RANDOMIZATION)
    form, _ = save_form(
        subject,
        "PD1",
        1,
        "trt",
        {"EXSTDAT": "2026-03-02", "EXACTION": "GIVEN"},
        today=RANDOMIZATION,
    )
    first = visit(subject, "PD1", 1)
    assert (first.performed_on, status(subject, "PD1", 1, RANDOMIZATION)) == (
        RANDOMIZATION,
        "completed",
    )
    assert visit(subject, "PD1", 2).target_date == D(2026, 3, 23)

    edited_on = D(2026, 3, 8)
    save_form(
        subject,
        "PD1",
        1,
        "trt",
        {"EXSTDAT": "2026-03-06", "EXACTION": "GIVEN"},
        instance=form,
        today=edited_on,
    )

    doses = ScheduleEvent.objects.filter(subject=subject, kind="DoseGiven").order_by("id")
    assert [(d.on, d.voided_at is not None) for d in doses] == [
        (RANDOMIZATION, True),
        (D(2026, 3, 6), False),
    ]
    first.refresh_from_db()
    assert first.performed_on == D(2026, 3, 6)
    assert status(subject, "PD1", 1, edited_on) == "completed_out_of_window"
    assert (
        ProtocolDeviation.objects.filter(
            subject=subject, reference=f"PlannedVisit:{first.pk}"
        ).count()
        == 1
    )
    second = visit(subject, "PD1", 2)
    assert second.target_date == D(2026, 3, 27)
    assert AuditEvent.objects.filter(
        subject=subject,
        action="schedule_target_moved",
        item="PD1#2 target",
        old_value="2026-03-23",
        new_value="2026-03-27",
    ).exists()
    # Saving the same values again changes nothing.
    before = AuditEvent.objects.count()
    save_form(
        subject,
        "PD1",
        1,
        "trt",
        {"EXSTDAT": "2026-03-06", "EXACTION": "GIVEN"},
        instance=form,
        today=edited_on,
    )
    assert AuditEvent.objects.count() == before and len(live(subject)) == 4


def test_held_dose_form_pauses_and_a_locoregional_progression_plans_reirradiation(site):
    subject = enrol(site, "SELECTIVE", RANDOMIZATION, [RANDOMIZATION])
    save_form(
        subject,
        "PD1",
        2,
        "trt",
        {"EXSTDAT": "2026-03-23", "EXACTION": "HELD"},
        today=D(2026, 3, 23),
    )
    assert visit(subject, "PD1", 2).reminders_paused
    # The held cycle's form stays; dosing resumes on the next cycle's form.
    save_form(
        subject,
        "PD1",
        3,
        "trt",
        {"EXSTDAT": "2026-04-06", "EXACTION": "RESUMED"},
        today=D(2026, 4, 6),
    )
    assert visit(subject, "PD1", 2).not_done_reason == "dose held for toxicity"
    assert (visit(subject, "PD1", 3).performed_on, visit(subject, "PD1", 4).target_date) == (
        D(2026, 4, 6),
        D(2026, 4, 27),
    )

    pd_day = D(2026, 5, 25)
    tumour = {"TUDAT": "2026-05-25", "RSORRES": "PD", "RSPDSITE": "LOCOREGIONAL_ONLY"}
    save_form(subject, "IMAGING", 1, "tu", tumour, today=pd_day)

    assert ("Progression", pd_day) in live(subject)
    assert visit(subject, "REIRRADIATION", 1).target_date == pd_day
    imaging = visit(subject, "IMAGING", 1)
    assert (imaging.performed_on, status(subject, "IMAGING", 1, pd_day)) == (pd_day, "completed")
    assert targets(subject, "IMAGING")[1] == D(2026, 8, 17)  # the calendar goes on


def test_death_on_the_end_of_study_form_stops_everything_and_removing_the_form_restores(site):
    subject = enrol(site, "IMMEDIATE", RANDOMIZATION, [RANDOMIZATION])
    open_before = set(
        PlannedVisit.objects.filter(subject=subject, cancelled_reason="").values_list(
            "pk", flat=True
        )
    )
    form, _ = save_form(
        subject, "EOS", 1, "eos", {"EOSDAT": "2026-03-10", "EOSRSN": "DEATH"}, today=D(2026, 3, 10)
    )
    still_open = PlannedVisit.objects.filter(
        subject=subject, performed_on__isnull=True, cancelled_reason=""
    )
    assert [v for v in still_open if v.missed_after >= D(2026, 3, 10)] == []
    assert selectors.subject_calendar(subject, D(2026, 3, 11)).rows  # history stays visible

    save_form(
        subject,
        "EOS",
        1,
        "eos",
        form.data,
        status=FormStatus.REMOVED,
        instance=form,
        today=D(2026, 3, 12),
    )
    assert ("Death", D(2026, 3, 10)) not in live(subject)
    reinstated = set(
        PlannedVisit.objects.filter(subject=subject, cancelled_reason="").values_list(
            "pk", flat=True
        )
    )
    assert open_before <= reinstated
    assert AuditEvent.objects.filter(subject=subject, action="visit_reinstated").exists()


def test_a_form_the_schedule_cannot_take_is_saved_and_shown_as_a_conflict(site):
    subject = enrol(site, "IMMEDIATE", RANDOMIZATION, [RANDOMIZATION])
    save_form(
        subject,
        "EOS",
        1,
        "eos",
        {"EOSDAT": "2026-03-10", "EOSRSN": "WITHDRAWAL_ALL"},
        today=D(2026, 3, 10),
    )
    late_dose, result = save_form(
        subject,
        "PD1",
        2,
        "trt",
        {"EXSTDAT": "2026-03-23", "EXACTION": "GIVEN"},
        today=D(2026, 3, 23),
    )
    (conflict,) = result.conflicts.values()
    assert "withdrawal_all_follow_up" in conflict
    event = ScheduleEvent.objects.get(source=f"form:{late_dose.pk}:0")
    assert event.conflict == conflict
    assert selectors.subject_calendar(subject, D(2026, 3, 23)).conflicts == (event,)


def test_subject_transitions_and_randomization_become_schedule_events(site):
    consent = RANDOMIZATION - 60 * DAY
    subject = screen(site, consent_date=consent, screening_date=consent)
    services.on_subject_changed(SYSTEM, subject, today=consent)
    assert targets(subject, "SCREEN") == [consent]
    subject_services.transition(SYSTEM, subject, "registered", on_date=consent + 10 * DAY)
    services.on_subject_changed(SYSTEM, subject, today=consent + 10 * DAY)
    assert targets(subject, "IND_CYCLE") == [consent + 17 * DAY]
    subject_services.transition(SYSTEM, subject, "induction", on_date=consent + 17 * DAY)
    subject_services.transition(SYSTEM, subject, "randomized", on_date=RANDOMIZATION)
    services.on_randomized(SYSTEM, subject, "SELECTIVE", RANDOMIZATION, today=RANDOMIZATION)
    assert targets(subject, "IMAGING")[:2] == [D(2026, 5, 25), D(2026, 8, 17)]
    assert targets(subject, "PD1") == [RANDOMIZATION]
    # Calling again records nothing new.
    count = ScheduleEvent.objects.count()
    services.on_subject_changed(SYSTEM, subject, today=RANDOMIZATION)
    assert ScheduleEvent.objects.count() == count

    subject_services.transition(
        SYSTEM,
        subject,
        "off_study",
        on_date=D(2026, 4, 1),
        off_study_reason="withdrawal_all_follow_up",
    )
    services.on_subject_changed(SYSTEM, subject, today=D(2026, 4, 1))
    assert ("ConsentWithdrawn", D(2026, 4, 1)) in live(subject)
    assert set(
        PlannedVisit.objects.filter(subject=subject, event_code="IMAGING").values_list(
            "cancelled_reason", flat=True
        )
    ) == {"withdrawal_all_follow_up"}
    # Randomization is kept: the subject transition hook does not manage it.
    assert ("Randomized", RANDOMIZATION) in live(subject)


def test_schedules_are_rebuilt_from_records_entered_before_the_feature(site):
    """A subject whose lifecycle and forms were saved without the hooks (older data, an import)."""
    consent = RANDOMIZATION - 60 * DAY
    subject = screen(site, consent_date=consent, screening_date=consent)
    subject_services.transition(SYSTEM, subject, "registered", on_date=consent + 10 * DAY)
    for event, repeat, form, data in [
        ("SCREEN", 1, "vs", {"VSDAT": consent.isoformat()}),
        ("IMAGING", 1, "tu", {"TUDAT": "2026-05-26", "RSORRES": "SD"}),
    ]:
        FormInstance.objects.create(
            subject=subject, study=subject.study, site=subject.site,
            protocol_version_id=subject.protocol_version_id, event_code=event, event_repeat=repeat,
            form_code=form, data=data, status=FormStatus.COMPLETE,
        )  # fmt: skip
    services.on_randomized(SYSTEM, subject, "IMMEDIATE", RANDOMIZATION, today=RANDOMIZATION)
    assert visit(subject, "SCREEN", 1).performed_on is None

    call_command("sync_schedules", "--study", "T-REIRR", stdout=io.StringIO())

    assert visit(subject, "SCREEN", 1).performed_on == consent
    assert visit(subject, "IMAGING", 1).performed_on == D(2026, 5, 26)
    before = (ScheduleEvent.objects.count(), AuditEvent.objects.count())
    services.sync_subject_from_records(SYSTEM, subject, today=D(2026, 6, 1))
    assert (ScheduleEvent.objects.count(), AuditEvent.objects.count()) == before
