"""E-mails sent after an allocation commits: to the site's staff, and to the study admin when a
stratum's list reaches 80 % and 100 % use, and when an enrolment cap does. Sent by the allocation's follow-up
(``services.follow_up``), run by the worker."""

from __future__ import annotations

import logging
from functools import partial

from django.utils.translation import gettext

from edc.accounts.models import Membership
from edc.accounts.roles import Role
from edc.accounts.selectors import readers_of
from edc.audit.models import Channel
from edc.labels import label
from edc.localtime import stamp
from edc.mail import send_to_readers
from edc.studies.texts import study_text
from randomization import scheme_params
from randomization.models import Allocation

log = logging.getLogger(__name__)


def _site_recipients(site) -> list[str]:
    if site.staff_email:
        return [site.staff_email]
    return sorted(
        {
            email
            for email in Membership.objects.filter(
                site=site, is_active=True, role__in=[Role.SITE_STAFF, Role.INVESTIGATOR]
            ).values_list("user__email", flat=True)
            if email
        }
    )


def _admin_recipients(study) -> list[str]:
    if study.admin_email:
        return [study.admin_email]
    return sorted(
        {
            email
            for email in Membership.objects.filter(
                study=study, is_active=True, role=Role.STUDY_ADMIN
            ).values_list("user__email", flat=True)
            if email
        }
    )


def _allocation_email(allocation: Allocation, arm_name: str, values: str) -> tuple[str, str]:
    """In the active language; the time in the active zone, named."""
    subject_id, site = allocation.subject.subject_id, allocation.site
    arm_name = study_text(allocation.study.definition, arm_name)
    title = gettext("[%(study)s] %(subject)s randomized: %(arm)s") % {
        "study": allocation.study.code,
        "subject": subject_id,
        "arm": arm_name or allocation.arm,
    }
    who = allocation.randomized_by_username or gettext("system")
    body = "\n".join(
        [
            gettext("Subject: %(subject)s (site %(site)s)")
            % {"subject": subject_id, "site": site.code},
            gettext("Arm: %(arm)s — %(name)s") % {"arm": allocation.arm, "name": arm_name},
            gettext("Randomization number: %(number)s in stratum %(stratum)s")
            % {"number": allocation.sequence, "stratum": allocation.stratum.key},
            gettext("Stratification values used: %(values)s") % {"values": values},
            gettext("Randomized at: %(when)s") % {"when": stamp(allocation.randomized_at)},
            gettext("Randomized by: %(who)s (%(channel)s)")
            % {"who": who, "channel": label(dict(Channel.choices), allocation.channel)},
        ]
    )
    return title, body


def _threshold_email(study, stratum, threshold: int) -> tuple[str, str]:
    used = stratum.next_sequence - 1
    facts = {
        "study": study.code,
        "stratum": stratum.key,
        "threshold": threshold,
        "used": used,
        "total": stratum.slots_total,
    }
    title = (
        gettext("[%(study)s] randomization list %(threshold)s%% used in stratum %(stratum)s")
        % facts
    )
    body = "\n".join(
        [
            gettext(
                "Stratum %(stratum)s of %(study)s has used %(used)s of %(total)s slots "
                "(%(threshold)s%% threshold reached)."
            )
            % facts,
            gettext(
                "When a list is used up, further subjects of this stratum are refused until the "
                "list is extended (manage.py extend_randomization_list)."
            ),
        ]
    )
    return title, body


def allocation_made(allocation_id: int, crossed_thresholds: list[int]) -> None:
    """Each recipient reads the e-mail in their language and time zone (edc.mail)."""
    allocation = Allocation.objects.select_related(
        "subject", "site", "study", "stratum", "scheme"
    ).get(pk=allocation_id)
    study, site, stratum = allocation.study, allocation.site, allocation.stratum
    arm_name = scheme_params.arm_names(allocation.scheme.params).get(allocation.arm, "")
    values = ", ".join(f"{k}={v}" for k, v in allocation.stratum_values.items())
    recipients = _site_recipients(site)
    if recipients:
        send_to_readers(
            readers_of(recipients, site), partial(_allocation_email, allocation, arm_name, values)
        )
    admins = _admin_recipients(study) if crossed_thresholds else []
    for threshold in crossed_thresholds:
        if not admins:
            log.warning("no study admin address for %s: %s%% alert not sent", study.code, threshold)
            break
        send_to_readers(
            readers_of(admins, site), partial(_threshold_email, study, stratum, threshold)
        )


def _cap_email(allocation: Allocation, alert: dict) -> tuple[str, str]:
    study = allocation.study
    what = {
        "study": gettext("study %(study)s") % {"study": study.code},
        "site": gettext("site %(site)s") % {"site": allocation.site.code},
        "stratum": gettext("stratum %(stratum)s") % {"stratum": allocation.stratum.key},
    }[alert["cap"]]
    facts = {"what": what, **alert, "code": f"{alert['cap']}_cap_reached"}
    if alert["percent"] >= 100:
        consequence = gettext(
            "Further subjects there are refused (code %(code)s) until the cap is raised "
            "in a new protocol version."
        )
    else:
        consequence = gettext("At the cap, further subjects there will be refused.")
    title = gettext("[%(study)s] enrolment cap %(percent)s%% reached: %(what)s") % {
        "study": study.code,
        **facts,
    }
    body = (
        gettext(
            "%(what)s has randomized %(used)s of its cap of %(limit)s subjects (%(percent)s%%)."
        )
        % facts
        + "\n"
        + consequence % facts
    )
    return title, body


def cap_reached(allocation_id: int, alerts: list[dict]) -> None:
    """The study admin is told as each enrolment cap nears (80 %) and when it is reached, in
    each admin's language and zone."""
    if not alerts:
        return
    allocation = Allocation.objects.select_related("site", "study", "stratum").get(pk=allocation_id)
    study = allocation.study
    admins = _admin_recipients(study)
    if not admins:
        log.warning("no study admin address for %s: cap alerts not sent", study.code)
        return
    for alert in alerts:
        send_to_readers(readers_of(admins, allocation.site), partial(_cap_email, allocation, alert))
