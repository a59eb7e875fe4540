"""The eligibility page opens on the first point that has criteria and is not yet confirmed,
shows tabs only for points with criteria, and never offers to sign zero criteria."""

import pytest
from django.test import Client

from crf.services import confirm_eligibility
from edc.audit.context import ChangeContext
from edc.errors import DomainError
from tests.factories import PASSWORD, SiteFactory, UserFactory, load_study, member, screen
from tests.randomization.helpers import enter_eligibility_data, site_investigator

pytestmark = pytest.mark.django_db


def test_t_refr_opens_on_randomization_its_only_point_with_criteria_and_never_signs_none(db):
    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01")
    investigator = UserFactory(username="pi_refr")
    member(investigator, site, "investigator")
    subject = screen(site)
    client = Client()
    client.force_login(investigator)
    base = f"/studies/T-REFR/subjects/{subject.subject_id}/eligibility/"
    page = client.get(base).content.decode()
    assert 'href="?point=randomization" aria-current="page"' in page
    assert 'href="?point=registration"' not in page  # registration has no criterion in T-REFR

    empty = client.get(base + "?point=registration").content.decode()
    assert 'id="confirm-form"' not in empty and "No criterion is due" in empty
    with pytest.raises(DomainError) as err:
        confirm_eligibility(
            ChangeContext(investigator, "web"), subject, "registration", password=PASSWORD
        )
    assert err.value.code == "no_criteria"


def test_the_page_moves_on_to_the_next_point_once_one_is_confirmed(site_a, coordinator_a):
    subject = screen(site_a)
    enter_eligibility_data(subject)
    client = Client()
    client.force_login(coordinator_a)
    url = f"/studies/T-MINI/subjects/{subject.subject_id}/eligibility/"
    assert 'href="?point=registration" aria-current="page"' in client.get(url).content.decode()
    confirm_eligibility(
        ChangeContext(site_investigator(site_a), "web"), subject, "registration", password=PASSWORD
    )
    assert 'href="?point=randomization" aria-current="page"' in client.get(url).content.decode()
