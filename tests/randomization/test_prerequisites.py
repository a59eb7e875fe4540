"""The subject page offers Randomize exactly when the allocation service would allocate:
``missing_for_randomization`` lists what is missing, in the service's order, and its first
entry carries the code the service refuses with."""

import pytest
from django.db import transaction
from django.test import Client

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.studies.models import Site
from edc.subjects.lifecycle import Status
from edc.subjects.models import Subject
from edc.subjects.services import transition
from randomization.selectors import missing_for_randomization
from randomization.services import go_live, randomize
from tests.factories import screen
from tests.randomization.helpers import registered_subject

pytestmark = pytest.mark.django_db


def service_answer(subject, user) -> str:
    """What the allocation service says, without keeping the allocation: "ok" or its code."""
    with transaction.atomic():
        try:
            randomize(ChangeContext(user, "web"), Subject.objects.get(pk=subject.pk))
            answer = "ok"
        except DomainError as exc:
            answer = exc.code
        transaction.set_rollback(True)
    return answer


def scenarios(site):
    """(name, subject) in many states; go-live happens between the first and the rest."""
    yield "not live", registered_subject(site, "PR")
    go_live(ChangeContext.system(), site.study)
    yield "screening", screen(site)
    yield "registered, no eligibility data", registered_subject(site, "PR", eligibility="none")
    yield "registered, not signed", registered_subject(site, "PR", eligibility="entered")
    yield "no randomization form", registered_subject(site, None)
    yield "ready", registered_subject(site, "PR")
    failed = screen(site)
    yield "screen failure", transition(ChangeContext.system(), failed, Status.SCREEN_FAILED)
    done = registered_subject(site, "CR")
    randomize(ChangeContext.system(), done)
    yield "randomized", done


def test_the_missing_list_and_the_allocation_service_agree(site_a, coordinator_a):
    seen = {}
    for name, subject in scenarios(site_a):
        subject = Subject.objects.select_related("study", "site").get(pk=subject.pk)
        missing = missing_for_randomization(subject)
        answer = service_answer(subject, coordinator_a)
        seen[name] = [m.code for m in missing]
        if answer == "ok":
            assert missing == [], (name, missing)
        else:
            assert missing and missing[0].code == answer, (name, answer, missing)
    assert seen["ready"] == []
    assert seen["screening"][0] == "illegal_transition"
    assert seen["registered, not signed"] == ["not_eligible"]
    assert seen["no randomization form"] == ["strata_missing"]
    assert seen["not live"] == ["randomization_not_live"]


def test_an_inactive_site_is_named_and_the_service_refuses_the_same(site_a, coordinator_a):
    go_live(ChangeContext.system(), site_a.study)
    subject = registered_subject(site_a, "PR")
    Site.objects.filter(pk=site_a.pk).update(is_active=False)
    subject = Subject.objects.select_related("study", "site").get(pk=subject.pk)
    codes = [m.code for m in missing_for_randomization(subject)]
    assert codes == ["site_inactive"] == [service_answer(subject, coordinator_a)]


def test_the_page_says_in_words_what_is_missing_with_a_link(site_a, coordinator_a):
    go_live(ChangeContext.system(), site_a.study)
    client = Client()
    client.force_login(coordinator_a)
    screening = screen(site_a)
    page = client.get(f"/studies/T-MINI/subjects/{screening.subject_id}/").content.decode()
    assert 'id="randomize-button"' not in page
    assert "Register the subject first." in page
    assert f"/studies/T-MINI/subjects/{screening.subject_id}/status/register/" in page

    unsigned = registered_subject(site_a, "PR", eligibility="entered")
    page = client.get(f"/studies/T-MINI/subjects/{unsigned.subject_id}/").content.decode()
    assert "Eligibility has not been confirmed by an investigator." in page
    assert (
        f"/studies/T-MINI/subjects/{unsigned.subject_id}/eligibility/?point=randomization" in page
    )
    confirm = client.get(f"/studies/T-MINI/subjects/{unsigned.subject_id}/randomize/")
    assert 'id="confirm-randomize"' not in confirm.content.decode()

    ready = registered_subject(site_a, "PR")
    page = client.get(f"/studies/T-MINI/subjects/{ready.subject_id}/").content.decode()
    assert 'id="randomize-button"' in page
