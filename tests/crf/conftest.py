import datetime as dt
from functools import cache
from pathlib import Path

import pytest

from edc.audit.context import ChangeContext
from edc.studies.protocol import check_file
from edc.studies.services import load_study_definition
from tests.factories import SiteFactory, UserFactory, member, screen

FIXTURE = Path(__file__).parent / "fixtures" / "crf_study.yaml"


@cache
def crf_definition() -> dict:
    data, problems = check_file(FIXTURE)
    assert not problems, problems
    return data


def load_crf_study(definition: dict | None = None):
    return load_study_definition(
        ChangeContext.system(), definition or crf_definition(), source_name=FIXTURE.name
    ).study


def nurse_with_subject(language: str, consented_days_ago: int):
    """The CRF study at a site (01) whose staff read ``language``, its nurse "nurse" (site
    staff) and one subject screened with consent ``consented_days_ago`` days before today:
    the starting point of the CRF browser journeys."""
    site = SiteFactory(
        study=load_crf_study(),
        code="01",
        name="Sun Yat-sen University Cancer Center",
        language=language,
    )
    nurse = UserFactory(username="nurse", first_name="Mei", last_name="Lin")
    member(nurse, site, "site_staff")
    consent = dt.date.today() - dt.timedelta(days=consented_days_ago)
    return nurse, screen(site, consent_date=consent)


@pytest.fixture
def crf_study(db):
    return load_crf_study()


@pytest.fixture
def crf_site(crf_study):
    return SiteFactory(study=crf_study, code="01")


@pytest.fixture
def crf_other_site(crf_study):
    return SiteFactory(study=crf_study, code="02")


@pytest.fixture
def staff(crf_site):
    user = UserFactory(username="staff_crf")
    member(user, crf_site, "site_staff")
    return user


@pytest.fixture
def investigator(crf_site):
    user = UserFactory(username="pi_crf", first_name="Ada", last_name="Lovelace")
    member(user, crf_site, "investigator")
    return user


@pytest.fixture
def subject(crf_site):
    return screen(crf_site, consent_date=dt.date.today() - dt.timedelta(days=30))


@pytest.fixture
def other_subject(crf_other_site):
    return screen(crf_other_site, consent_date=dt.date.today() - dt.timedelta(days=30))
