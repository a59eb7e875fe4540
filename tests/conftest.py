import pytest

from tests.factories import SiteFactory, UserFactory, load_study, member


@pytest.fixture
def study(db):
    return load_study()


@pytest.fixture
def site_a(study):
    return SiteFactory(study=study, code="01")


@pytest.fixture
def site_b(study):
    return SiteFactory(study=study, code="02")


@pytest.fixture
def coordinator_a(site_a):
    user = UserFactory(username="coord_a")
    member(user, site_a, "site_staff")
    return user
