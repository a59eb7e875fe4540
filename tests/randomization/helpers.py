"""Subjects ready for randomization, built through the real services."""

import datetime as dt

from crf.models import FormInstance, FormStatus
from edc.audit.context import ChangeContext
from edc.subjects.services import transition
from tests.factories import screen


def fill_randomization_form(subject, response):
    # Stored as the CRF app stores a completed form; the CRF app owns its own save tests.
    return FormInstance.objects.create(
        subject=subject,
        study=subject.study,
        site=subject.site,
        protocol_version=subject.protocol_version,
        event_code="RAND",
        form_code="randomization",
        status=FormStatus.COMPLETE,
        data={"STRESP": response},
    )


def registered_subject(site, response="CR"):
    subject = screen(site)
    subject = transition(ChangeContext.system(), subject, "registered", on_date=dt.date.today())
    if response is not None:
        fill_randomization_form(subject, response)
    return subject
