"""Demo data: every demo study goes live, and demo subjects who are ready get randomized."""

from __future__ import annotations

import datetime as dt

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from randomization.models import RandomizationScheme, SchemeStatus
from randomization.services import go_live, randomize

READY = {"registered", "induction"}


def seed_demo_randomization(demo_studies, today: dt.date | None = None) -> int:
    """Go live where not yet live; randomize each registered demo subject whose eligibility is
    confirmed and whose randomization form is filled (others are left for the demo user).
    Returns the number of allocations made. Safe to run again."""
    ctx = ChangeContext.system(reason="seed_demo")
    made = 0
    for demo in demo_studies:
        study = demo.study
        if "randomization" not in study.definition:
            continue
        if not RandomizationScheme.objects.filter(study=study, status=SchemeStatus.LIVE).exists():
            go_live(ctx, study)
        for subjects in demo.subjects.values():
            for subject in subjects:
                if subject.status not in READY:
                    continue
                try:
                    result = randomize(ctx, subject, idempotency_key=f"demo-{subject.subject_id}")
                except DomainError:
                    continue
                made += int(result.created)
    return made
