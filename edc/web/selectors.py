"""Reads for the landing page: what is waiting for the person signed in, per site they work at."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from crf.models import EligibilityConfirmation, EligibilityPoint, FormInstance
from edc.accounts.roles import Permission
from edc.accounts.scoping import Scope
from edc.datamanagement import selectors as datamanagement
from edc.datamanagement.models import Query
from edc.reminders.selectors import TodoItem, site_todo
from edc.studies.models import Site
from edc.subjects.lifecycle import Status
from edc.subjects.models import Subject

SHOWN = 5  # items listed per kind; the rest are a link away


@dataclass(frozen=True)
class SiteWork:
    site: Site
    visits: tuple[TodoItem, ...]  # overdue, then due
    queries: int  # open queries waiting for this person's answer
    to_sign: tuple[FormInstance, ...]  # complete forms no signature covers (investigators)
    to_sign_count: int
    can_sign: bool
    can_screen: bool = False
    # Subjects before randomization with no investigator's confirmation of eligibility for it
    # yet (investigators): a link each, straight to the eligibility page.
    to_confirm: tuple[Subject, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.visits or self.queries or self.to_sign_count)


def site_work(scope: Scope, user) -> list[SiteWork]:
    """For each site where the user enters data: visits due or overdue, open queries to
    answer, forms awaiting their signature. A few queries per site; site staff work at one or
    two sites."""
    sites = (
        Site.objects.filter(pk__in=[s for (_, s) in scope.grants if s is not None])
        .select_related("study")
        .order_by("study__code", "code")
    )
    work = []
    for site in sites:
        if not scope.can(Permission.ENTER_DATA, site.study_id, site.pk):
            continue
        todo = site_todo(scope, site, site.today())
        queries = Query.objects.filter(
            datamanagement.inbox_filter(scope, user), site=site, status="open"
        ).count()
        unsigned = datamanagement.awaiting_signature(scope, site)
        can_sign = scope.can(Permission.SIGN, site.study_id, site.pk)
        to_sign = tuple(unsigned[:SHOWN]) if can_sign else ()
        datamanagement.name_forms(to_sign)
        can_confirm = scope.can(Permission.CONFIRM_ELIGIBILITY, site.study_id, site.pk)
        work.append(
            SiteWork(
                site,
                todo.act_now,
                queries,
                to_sign,
                unsigned.count() if can_sign else 0,
                can_sign,
                scope.can(Permission.SCREEN, site.study_id, site.pk),
                awaiting_eligibility(site)[:SHOWN] if can_confirm else (),
            )
        )
    return work


def awaiting_eligibility(site: Site) -> tuple[Subject, ...]:
    """The site's registered (or in induction) subjects whose eligibility for randomization no
    investigator has confirmed yet. One query."""
    confirmed = EligibilityConfirmation.objects.filter(
        subject=OuterRef("pk"), point=EligibilityPoint.RANDOMIZATION
    )
    return tuple(
        Subject.objects.filter(site=site, status__in=[Status.REGISTERED, Status.INDUCTION])
        .exclude(Exists(confirmed))
        .order_by("subject_id")
    )
