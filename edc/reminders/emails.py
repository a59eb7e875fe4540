"""The text of reminder and digest e-mails, in the active language (the sender overrides it per
recipient). No database; Django only translates the words.

A message names the subject only by its study ID: the facts passed in hold nothing else about
the patient, so no template change can leak a name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from edc.labels import VISIT_STATUS, label
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
        cycle = _("cycle %(cycle)s") % {"cycle": self.cycle}
        number = cycle if self.cycle else f"#{self.sequence}"
        return f"{self.visit_name} ({self.event_code} {number})"


# Whole sentences per transition, so each language orders its own words.
_TITLES = {
    VisitStatus.UPCOMING: gettext_lazy(
        "[%(study)s] %(subject)s: %(visit)s window opens soon (target %(target)s)"
    ),
    VisitStatus.WINDOW_OPEN: gettext_lazy(
        "[%(study)s] %(subject)s: %(visit)s window is open (target %(target)s)"
    ),
    VisitStatus.DUE: gettext_lazy("[%(study)s] %(subject)s: %(visit)s is due (target %(target)s)"),
    VisitStatus.OVERDUE: gettext_lazy(
        "[%(study)s] %(subject)s: %(visit)s is overdue (target %(target)s)"
    ),
    VisitStatus.MISSED: gettext_lazy(
        "[%(study)s] %(subject)s: %(visit)s was missed (target %(target)s)"
    ),
}
# The transitions a reminder is sent for.
ANNOUNCED = tuple(_TITLES)


def _title(facts: VisitFacts, transition: VisitStatus) -> str:
    return str(_TITLES[transition]) % {
        "study": facts.study_code,
        "subject": facts.subject_id,
        "visit": facts.occurrence,
        "target": facts.target,
    }


def _action(facts: VisitFacts, transition: VisitStatus, day: dt.date) -> str:
    if transition == VisitStatus.UPCOMING:
        days = (facts.window_start - day).days
        return _("The visit window opens on %(start)s (in %(days)s day(s)). Plan the visit.") % {
            "start": facts.window_start,
            "days": days,
        }
    if transition in (VisitStatus.WINDOW_OPEN, VisitStatus.DUE):
        return _("Perform the visit by %(end)s, the last day of its window.") % {
            "end": facts.window_end
        }
    if transition == VisitStatus.OVERDUE:
        return _(
            "The window closed on %(end)s. Perform the visit by %(missed)s or record it as not "
            "done with a reason; a late visit is a protocol deviation."
        ) % {"end": facts.window_end, "missed": facts.missed_after}
    return _(
        "Record the visit as not done with a reason in the EDC. A missed visit is not data: "
        "do not enter values for it."
    )


def reminder(facts: VisitFacts, transition: VisitStatus, day: dt.date) -> tuple[str, str]:
    """(subject line, body) of the message for one visit transition, in the active language."""
    body = "\n".join(
        [
            _("Visit status on %(day)s: %(status)s.")
            % {"day": day, "status": label(VISIT_STATUS, transition.value)},
            "",
            _("Study: %(study)s") % {"study": facts.study_code},
            _("Site: %(site)s") % {"site": facts.site_code},
            _("Subject: %(subject)s") % {"subject": facts.subject_id},
            _("Visit: %(visit)s") % {"visit": facts.occurrence},
            _("Target date: %(day)s") % {"day": facts.target},
            _("Window: %(start)s to %(end)s")
            % {"start": facts.window_start, "end": facts.window_end},
            "",
            _action(facts, transition, day),
            "",
            _(
                "This reminder was sent by the EDC to the site's staff. It names the subject by "
                "study ID only."
            ),
        ]
    )
    return _title(facts, transition), body


def digest(
    study_code: str, site_code: str, day: dt.date, overdue: Sequence[VisitFacts]
) -> tuple[str, str]:
    """(subject line, body) of a site's daily list of overdue visits, in the active language."""
    title = ngettext(
        "[%(study)s] Site %(site)s: %(count)s overdue visit on %(day)s",
        "[%(study)s] Site %(site)s: %(count)s overdue visits on %(day)s",
        len(overdue),
    ) % {"study": study_code, "site": site_code, "count": len(overdue), "day": day}
    lines = [
        _("Overdue visits at site %(site)s of %(study)s on %(day)s:")
        % {"site": site_code, "study": study_code, "day": day},
        "",
    ]
    for facts in overdue:
        late = (day - facts.window_end).days
        lines.append(
            _(
                "- %(subject)s: %(visit)s, target %(target)s, window closed %(end)s "
                "(%(late)s day(s) ago), missed after %(missed)s"
            )
            % {
                "subject": facts.subject_id,
                "visit": facts.occurrence,
                "target": facts.target,
                "end": facts.window_end,
                "late": late,
                "missed": facts.missed_after,
            }
        )
    lines += [
        "",
        _(
            "Perform each visit or record it as not done with a reason. Subjects are named by "
            "study ID only."
        ),
    ]
    return title, "\n".join(lines)
