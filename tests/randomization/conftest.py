import pytest

from edc.audit.context import ChangeContext
from randomization.services import go_live
from tests.factories import UserFactory, member

FIXED_SEED = bytes(range(32))


@pytest.fixture
def statistician(study):
    user = UserFactory(username="stat")
    member(user, study, "statistician")
    return user


@pytest.fixture
def study_admin(study):
    user = UserFactory(username="studyadmin")
    member(user, study, "study_admin")
    return user


@pytest.fixture
def live(study, site_a, site_b):
    return go_live(ChangeContext.system(), study, seed=FIXED_SEED)


@pytest.fixture
def investigator_a(site_a):
    from tests.randomization.helpers import site_investigator

    return site_investigator(site_a)
