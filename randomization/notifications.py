"""E-mails sent after an allocation commits: to the site's staff, and to the study admin when a
stratum's list reaches 80 % and 100 % use, and when an enrolment cap does. Sent by the allocation's follow-up
(``services.follow_up``), run by the worker."""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.utils.translation import gettext

from edc.accounts.models import Membership
from edc.accounts.roles import Role
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


def allocation_made(allocation_id: int, crossed_thresholds: list[int]) -> None:
    allocation = Allocation.objects.select_related(
        "subject", "site", "study", "stratum", "scheme"
    ).get(pk=allocation_id)
    study, site, stratum = allocation.study, allocation.site, allocation.stratum
    arm_name = scheme_params.arm_names(allocation.scheme.params).get(allocation.arm, "")
    values = ", ".join(f"{k}={v}" for k, v in allocation.stratum_values.items())
    recipients = _site_recipients(site)
    if recipients:
        send_mail(
            f"[{study.code}] {allocation.subject.subject_id} randomized: {arm_name or allocation.arm}",
            "\n".join(
                [
                    f"Subject: {allocation.subject.subject_id} (site {site.code})",
                    f"Arm: {allocation.arm} — {arm_name}",
                    f"Randomization number: {allocation.sequence} in stratum {stratum.key}",
                    f"Stratification values used: {values}",
                    f"Randomized at: {allocation.randomized_at:%Y-%m-%d %H:%M:%S} UTC",
                    f"Randomized by: {allocation.randomized_by_username or 'system'}"
                    f" ({allocation.channel})",
                ]
            ),
            None,
            recipients,
        )
    admins = _admin_recipients(study) if crossed_thresholds else []
    for threshold in crossed_thresholds:
        if not admins:
            log.warning("no study admin address for %s: %s%% alert not sent", study.code, threshold)
            break
        used = stratum.next_sequence - 1
        send_mail(
            f"[{study.code}] randomization list {threshold}% used in stratum {stratum.key}",
            "\n".join(
                [
                    f"Stratum {stratum.key} of {study.code} has used {used} of "
                    f"{stratum.slots_total} slots ({threshold}% threshold reached).",
                    "When a list is used up, further subjects of this stratum are refused "
                    "until the list is extended (manage.py extend_randomization_list).",
                ]
            ),
            None,
            admins,
        )


def cap_reached(allocation_id: int, alerts: list[dict]) -> None:
    """The study admin is told as each enrolment cap nears (80 %) and when it is reached."""
    if not alerts:
        return
    allocation = Allocation.objects.select_related("site", "study", "stratum").get(pk=allocation_id)
    study = allocation.study
    admins = _admin_recipients(study)
    if not admins:
        log.warning("no study admin address for %s: cap alerts not sent", study.code)
        return
    for alert in alerts:
        what = {
            "study": study.code,
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
        send_mail(
            gettext("[%(study)s] enrolment cap %(percent)s%% reached: %(what)s")
            % {"study": study.code, **facts},
            gettext(
                "%(what)s has randomized %(used)s of its cap of %(limit)s subjects (%(percent)s%%)."
            )
            % facts
            + "\n"
            + consequence % facts,
            None,
            admins,
        )
