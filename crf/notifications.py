"""E-mail about saved CRF data. Messages name a subject only by its study ID."""

from __future__ import annotations

import logging
from functools import partial

from django.utils.translation import gettext, gettext_lazy

from crf.models import FormInstance
from edc.accounts.selectors import readers_of
from edc.audit.context import ChangeContext
from edc.audit.services import record
from edc.mail import send_to_readers

log = logging.getLogger(__name__)

_CRITERIA = {
    "AESDTH": gettext_lazy("results in death"),
    "AESLIFE": gettext_lazy("life-threatening"),
    "AESHOSP": gettext_lazy("hospitalization or its prolongation"),
    "AESDISAB": gettext_lazy("persistent or significant disability"),
    "AESCONG": gettext_lazy("congenital anomaly"),
    "AESMIE": gettext_lazy("important medical event"),
}


def serious_ae_message(instance: FormInstance) -> tuple[str, str]:
    subject = instance.subject
    data = instance.data
    term = instance.derived.get("AEDECOD") or data.get("AETERM", "")
    verbatim = f" ({data['AETERMSP']})" if data.get("AETERMSP") else ""
    criteria = [str(label) for code, label in _CRITERIA.items() if data.get(code) in ("Y", True)]
    not_given = gettext("not given")
    title = gettext("[%(study)s] Serious adverse event reported for %(subject)s") % {
        "study": subject.study.code,
        "subject": subject.subject_id,
    }
    lines = [
        gettext(
            "A serious adverse event was recorded in the EDC. Report it to the sponsor within "
            "24 hours."
        ),
        "",
        gettext("Study: %(study)s") % {"study": subject.study.code},
        gettext("Site: %(site)s") % {"site": subject.site.code},
        gettext("Subject: %(subject)s") % {"subject": subject.subject_id},
        gettext("Event: %(event)s") % {"event": f"{term}{verbatim}"},
        gettext("CTCAE grade: %(grade)s") % {"grade": data.get("AETOXGR", not_given)},
        gettext("Onset: %(day)s") % {"day": data.get("AESTDAT", not_given)},
        gettext("Seriousness: %(criteria)s") % {"criteria": ", ".join(criteria) or not_given},
        gettext("Form: %(form)s")
        % {
            "form": f"{instance.event_code} #{instance.event_repeat}, {instance.form_code} "
            f"#{instance.form_repeat}"
        },
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
    # The safety contact reads in their own language if they have an account, else the site's.
    send_to_readers(
        readers_of([study.safety_contact_email], instance.subject.site),
        partial(serious_ae_message, instance),
    )
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
