"""The text of reminder and digest e-mails. Pure Python, no Django.

A message names the subject only by its study ID: the facts passed in hold nothing else about
the patient, so no template change can leak a name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from edc.schedule.windows import VisitStatus


@dataclass(frozen=True)
class VisitFacts:
    study_code: str
    site_code: str
    subject_id: str
    visit_name: str
    event_code: str
    sequence: int
    cycle: int | None
    target: dt.date
    window_start: dt.date
    window_end: dt.date
    missed_after: dt.date

    @property
    def occurrence(self) -> str:
        number = f"cycle {self.cycle}" if self.cycle else f"#{self.sequence}"
        return f"{self.visit_name} ({self.event_code} {number})"


_HEADLINES = {
    VisitStatus.UPCOMING: "window opens soon",
    VisitStatus.WINDOW_OPEN: "window is open",
    VisitStatus.DUE: "is due",
    VisitStatus.OVERDUE: "is overdue",
    VisitStatus.MISSED: "was missed",
}


def _action(facts: VisitFacts, transition: VisitStatus, day: dt.date) -> str:
    if transition == VisitStatus.UPCOMING:
        days = (facts.window_start - day).days
        return f"The visit window opens on {facts.window_start} (in {days} day(s)). Plan the visit."
    if transition in (VisitStatus.WINDOW_OPEN, VisitStatus.DUE):
        return f"Perform the visit by {facts.window_end}, the last day of its window."
    if transition == VisitStatus.OVERDUE:
        return (
            f"The window closed on {facts.window_end}. Perform the visit by {facts.missed_after} "
            "or record it as not done with a reason; a late visit is a protocol deviation."
        )
    return (
        "Record the visit as not done with a reason in the EDC. A missed visit is not data: "
        "do not enter values for it."
    )


def reminder(facts: VisitFacts, transition: VisitStatus, day: dt.date) -> tuple[str, str]:
    """(subject line, body) of the message for one visit transition."""
    title = (
        f"[{facts.study_code}] {facts.subject_id}: {facts.occurrence} "
        f"{_HEADLINES[transition]} (target {facts.target})"
    )
    body = "\n".join(
        [
            f"Visit status on {day}: {transition.value.replace('_', ' ')}.",
            "",
            f"Study: {facts.study_code}",
            f"Site: {facts.site_code}",
            f"Subject: {facts.subject_id}",
            f"Visit: {facts.occurrence}",
            f"Target date: {facts.target}",
            f"Window: {facts.window_start} to {facts.window_end}",
            "",
            _action(facts, transition, day),
            "",
            "This reminder was sent by the EDC to the site's staff. It names the subject by study "
            "ID only.",
        ]
    )
    return title, body


def digest(
    study_code: str, site_code: str, day: dt.date, overdue: Sequence[VisitFacts]
) -> tuple[str, str]:
    """(subject line, body) of a site's daily list of overdue visits."""
    title = f"[{study_code}] Site {site_code}: {len(overdue)} overdue visit(s) on {day}"
    lines = [
        f"Overdue visits at site {site_code} of {study_code} on {day}:",
        "",
    ]
    for facts in overdue:
        late = (day - facts.window_end).days
        lines.append(
            f"- {facts.subject_id}: {facts.occurrence}, target {facts.target}, window closed "
            f"{facts.window_end} ({late} day(s) ago), missed after {facts.missed_after}"
        )
    lines += [
        "",
        "Perform each visit or record it as not done with a reason. Subjects are named by study "
        "ID only.",
    ]
    return title, "\n".join(lines)
