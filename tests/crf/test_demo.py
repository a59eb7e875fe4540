"""The demo shows every CRF feature on the real seed studies, entered through the services."""

import datetime as dt
import logging

import pytest

from crf.definitions import study_forms
from crf.demo import entry_point, seed_demo_crf
from crf.models import EligibilityConfirmation, FormInstance
from crf.selectors import eligibility_state, eligibility_status
from edc.audit.models import AuditEvent
from edc.demo.services import seed_demo
from randomization.demo import seed_demo_randomization
from randomization.models import Allocation, RandomizationScheme
from randomization.strata import crf_strata
from tests.factories import load_study

pytestmark = pytest.mark.django_db

SEEDS = ["t-reirr.yaml", "t-lrrt.yaml", "t-refr.yaml", "t-rtv.yaml"]


def test_demo_fills_screening_eligibility_tumour_assessments_and_aes(caplog):
    for name in SEEDS:
        load_study(name)
    caplog.set_level(logging.WARNING, logger="crf.demo")
    demos = seed_demo()
    seed_demo_crf(demos, dt.date.today())
    assert [r.getMessage() for r in caplog.records if r.name == "crf.demo"] == []
    for demo in demos:
        screening, registered, further, failed = demo.subjects["01"][:4]
        point = entry_point(study_forms(screening.protocol_version_id))
        assert FormInstance.objects.filter(subject=screening).exists()
        assert eligibility_status(registered, point)[0], demo.study.code
        follow_ups = FormInstance.objects.filter(subject=further, form_code="tu").order_by(
            "event_repeat"
        )
        assert [f.data["RSCALC"] for f in follow_ups] == ["PR", "PR"]
        assert follow_ups[0].derived["recist"]["derivation"]
        aes = FormInstance.objects.filter(subject=further, form_code="ae")
        assert aes.count() == 3 and any(ae.data.get("AESER") == "Y" for ae in aes)
        age = {line.id: line.status for line in eligibility_state(failed, point).lines}
        assert "fail" in age.values()
    before = FormInstance.objects.count(), EligibilityConfirmation.objects.count()
    seed_demo_crf(demos, dt.date.today())
    assert (FormInstance.objects.count(), EligibilityConfirmation.objects.count()) == before
    for demo in demos:
        _assert_randomized_and_one_ready(demo)
    assert seed_demo_randomization(demos) == 0
    for demo in demos:
        _assert_randomized_and_one_ready(demo)


def _assert_randomized_and_one_ready(demo):
    """At least three subjects allocated to arms of the study, and exactly one subject at site
    01 left for the Randomize button: eligibility confirmed at randomization, strata on its
    randomization form, not randomized."""
    study = demo.study
    arms = {arm["code"] for arm in study.definition["arms"]}
    allocations = Allocation.objects.filter(study=study).select_related("subject")
    assert allocations.count() >= 3, study.code
    assert {a.arm for a in allocations} <= arms
    assert all(a.subject.status == "randomized" for a in allocations)
    params = RandomizationScheme.objects.get(study=study).params
    ready = []
    for subject in demo.subjects["01"]:
        subject.refresh_from_db()
        if subject.status not in {"registered", "induction"}:
            continue
        if not eligibility_status(subject, "randomization")[0]:
            continue
        assert crf_strata(subject, params), subject.subject_id
        ready.append(subject)
    assert len(ready) == 1, (study.code, [s.subject_id for s in ready])
    assert not Allocation.objects.filter(subject=ready[0]).exists()


def test_demo_skips_studies_not_laid_out_like_the_seed_studies(study):
    demos = seed_demo()  # the minimal fixture study: no SCREENING visit
    seed_demo_crf(demos, dt.date.today())
    # Other features reuse DemoEntry at site 02; the CRF demo enters as site 01 coordinator.
    assert not AuditEvent.objects.filter(
        reason="CRF demo data", actor_username="coordinator"
    ).exists()
