import pytest

from edc.audit.context import ChangeContext
from tests.factories import SiteFactory, UserFactory, load_study, member


@pytest.fixture
def admin_a(study):
    """A study-wide admin of T-MINI."""
    user = UserFactory(username="admin_a", first_name="Ada", is_staff=True)
    member(user, study, "study_admin")
    return user


@pytest.fixture
def admin_a2(study):
    """T-MINI's second study admin."""
    user = UserFactory(username="admin_a2", first_name="Bo", is_staff=True)
    member(user, study, "study_admin")
    return user


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def other_study(db):
    """A second study (T-REFR) with one site and its own admin."""
    study = load_study("t-refr.yaml")
    site = SiteFactory(study=study, code="01")
    admin = UserFactory(username="admin_b", is_staff=True)
    member(admin, study, "study_admin")
    return study, site, admin


def web(user, reason: str = "") -> ChangeContext:
    return ChangeContext(user=user, channel="web", reason=reason)
