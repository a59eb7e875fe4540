"""Two people saving the same form at the same moment: the second is refused, nothing is lost."""

import datetime as dt
import threading

import pytest
from django.db import connections, transaction

from crf.models import FormInstance
from crf.services import save_form
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from tests.crf.conftest import load_crf_study
from tests.factories import SiteFactory, UserFactory, member, screen

pytestmark = pytest.mark.django_db(transaction=True)

DM = {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1"}


def test_the_second_of_two_simultaneous_saves_is_refused():
    study = load_crf_study()
    site = SiteFactory(study=study, code="01")
    users = [UserFactory(username=name) for name in ("first_editor", "second_editor")]
    for user in users:
        member(user, site, "site_staff")
    subject = screen(site, consent_date=dt.date.today() - dt.timedelta(days=10))
    save_form(ChangeContext(users[0], "web"), subject, "SCREENING", 1, "dm", 1, DM, row_version=0)

    first_saved, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def editor(index, values):
        try:
            with transaction.atomic():
                save_form(
                    ChangeContext(users[index], "web", reason=f"edit {index}"),
                    subject,
                    "SCREENING",
                    1,
                    "dm",
                    1,
                    values,
                    row_version=1,  # both opened version 1
                )
                if index == 0:
                    first_saved.set()
                    release.wait(10)  # keep the row lock while the second editor saves
            outcome[index] = "saved"
        except DomainError as exc:
            outcome[index] = exc
        finally:
            connections.close_all()

    one = threading.Thread(target=editor, args=(0, {**DM, "ECOG": "0"}))
    one.start()
    assert first_saved.wait(10)
    two = threading.Thread(target=editor, args=(1, {**DM, "ECOG": "2"}))
    two.start()
    two.join(1)
    assert two.is_alive()  # waiting for the first editor's row lock, not overwriting
    release.set()
    one.join(10)
    two.join(10)
    assert outcome[0] == "saved"
    refused = outcome[1]
    assert (
        isinstance(refused, DomainError) and refused.code == "stale_write" and refused.status == 409
    )
    assert "Demographics at Screening" in refused.message
    instance = FormInstance.objects.get(form_code="dm")
    assert (instance.data["ECOG"], instance.row_version) == ("0", 2)
