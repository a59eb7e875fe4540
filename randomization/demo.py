"""Demo data: every demo study goes live, and demo subjects who are ready get randomized."""

from __future__ import annotations

import datetime as dt

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.subjects.models import Subject
from randomization.eligibility import eligibility_verdict
from randomization.models import RandomizationScheme, SchemeStatus
from randomization.services import go_live, randomize
from randomization.strata import crf_strata

READY = {"registered", "induction"}
BUTTON_SITE = "01"


def _ready(subject: Subject, scheme: RandomizationScheme) -> bool:
    """Eligibility confirmed at randomization and every stratum on the randomization form."""
    if subject.status not in READY or not eligibility_verdict(subject).allowed:
        return False
    try:
        crf_strata(subject, scheme.params)
    except DomainError:
        return False
    return True


def seed_demo_randomization(demo_studies, today: dt.date | None = None) -> int:
    """Go live where not yet live; randomize the demo subjects whose eligibility is confirmed
    and whose randomization form is filled, except the first ready one of site 01, which is
    left for the demo user's Randomize button. Run after seed_demo_crf. Returns the number of
    allocations made; safe to run again."""
    ctx = ChangeContext.system(reason="seed_demo")
    made = 0
    for demo in demo_studies:
        study = demo.study
        if "randomization" not in study.definition:
            continue
        if not RandomizationScheme.objects.filter(study=study, status=SchemeStatus.LIVE).exists():
            go_live(ctx, study)
        scheme = RandomizationScheme.objects.get(study=study)
        for code, subjects in sorted(demo.subjects.items()):
            fresh = Subject.objects.filter(pk__in=[s.pk for s in subjects]).order_by("subject_id")
            ready = [s for s in fresh if _ready(s, scheme)]
            if code == BUTTON_SITE:
                ready = ready[1:]
            for subject in ready:
                try:
                    result = randomize(ctx, subject, idempotency_key=f"demo-{subject.subject_id}")
                except DomainError:
                    continue
                made += int(result.created)
    return made
