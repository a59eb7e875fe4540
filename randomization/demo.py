"""Demo data: every demo study goes live, and demo subjects who are ready get randomized."""

from __future__ import annotations

import datetime as dt

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from randomization.models import RandomizationScheme, SchemeStatus
from randomization.services import go_live, randomize

READY = {"registered", "induction"}


def seed_demo_randomization(demo_studies, today: dt.date | None = None) -> int:
    """Go live where not yet live; randomize the demo subjects whose eligibility is confirmed
    and whose randomization form is filled, except the first ready one of each site, which is
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
        for subjects in demo.subjects.values():
            # The first ready subject of each site is left for the demo user to randomize.
            ready = [s for s in subjects if s.status in READY][1:]
            for subject in ready:
                try:
                    result = randomize(ctx, subject, idempotency_key=f"demo-{subject.subject_id}")
                except DomainError:
                    continue
                made += int(result.created)
    return made
