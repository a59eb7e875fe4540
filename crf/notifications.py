"""E-mail about saved CRF data. Messages name a subject only by its study ID."""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from crf.models import FormInstance
from edc.audit.context import ChangeContext
from edc.audit.services import record

log = logging.getLogger(__name__)

_CRITERIA = {
    "AESDTH": "results in death",
    "AESLIFE": "life-threatening",
    "AESHOSP": "hospitalization or its prolongation",
    "AESDISAB": "persistent or significant disability",
    "AESCONG": "congenital anomaly",
    "AESMIE": "important medical event",
}


def serious_ae_message(instance: FormInstance) -> tuple[str, str]:
    subject = instance.subject
    data = instance.data
    term = instance.derived.get("AEDECOD") or data.get("AETERM", "")
    verbatim = f" ({data['AETERMSP']})" if data.get("AETERMSP") else ""
    criteria = [label for code, label in _CRITERIA.items() if data.get(code) in ("Y", True)]
    title = f"[{subject.study.code}] Serious adverse event reported for {subject.subject_id}"
    lines = [
        "A serious adverse event was recorded in the EDC. Report it to the sponsor within 24 hours.",
        "",
        f"Study: {subject.study.code}",
        f"Site: {subject.site.code}",
        f"Subject: {subject.subject_id}",
        f"Event: {term}{verbatim}",
        f"CTCAE grade: {data.get('AETOXGR', 'not given')}",
        f"Onset: {data.get('AESTDAT', 'not given')}",
        f"Seriousness: {', '.join(criteria) or 'not given'}",
        f"Form: {instance.event_code} #{instance.event_repeat}, {instance.form_code} "
        f"#{instance.form_repeat}",
    ]
    return title, "\n".join(lines)


def notify_serious_adverse_event(instance_pk: int) -> None:
    """Send the SAE notice to the study's safety contact and record that it went out."""
    instance = FormInstance.objects.select_related("subject__study", "subject__site").get(
        pk=instance_pk
    )
    study = instance.subject.study
    if not study.safety_contact_email:
        log.warning("study %s has no safety contact e-mail; SAE notice not sent", study.code)
        return
    title, body = serious_ae_message(instance)
    send_mail(title, body, None, [study.safety_contact_email])
    record(
        ChangeContext.system(),
        "sae_notified",
        object_type="crf.FormInstance",
        object_id=instance.pk,
        item="safety_contact_email",
        new=study.safety_contact_email,
        study=study,
        site=instance.subject.site,
        subject=instance.subject,
    )
