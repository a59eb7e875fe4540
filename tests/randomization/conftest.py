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
def eligible(monkeypatch):
    """TEMPORARY until crf.selectors.eligibility_status exists: every subject passes."""
    from types import SimpleNamespace

    from django.utils import timezone

    confirmation = SimpleNamespace(pk=1, signed_by_name="Dr Test", signed_at=timezone.now())
    monkeypatch.setattr(
        "randomization.eligibility._status", lambda subject: (True, [], confirmation)
    )


@pytest.fixture
def investigator_a(site_a):
    user = UserFactory(username="inv_a")
    member(user, site_a, "investigator")
    return user
