"""Factories for the suite. Studies are loaded through the real loader from real files."""

from __future__ import annotations

import copy
import datetime as dt
from functools import cache
from pathlib import Path

import factory
from django.conf import settings
from django.contrib.auth import get_user_model

from edc.accounts.models import Membership
from edc.audit.context import ChangeContext
from edc.studies.models import Site, Study
from edc.studies.protocol import check_file
from edc.studies.services import load_study_definition
from edc.subjects import services as subject_services

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


@cache
def _checked_definition(path: Path) -> dict:
    """A study file parsed and checked once per run: hundreds of tests load the same few files,
    and the loader checks the definition again anyway."""
    data, problems = check_file(path)
    assert not problems, problems
    return data


def load_study(name: str | Path = "minimal_study.yaml") -> Study:
    """A study from tests/fixtures, the shipped studies, or a path of its own."""
    path = FIXTURES / name if (FIXTURES / name).exists() else settings.STUDIES_DIR / name
    # A copy, so a test that changes its definition cannot change the next test's.
    data = copy.deepcopy(_checked_definition(path))
    return load_study_definition(ChangeContext.system(), data, source_name=path.name).study


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    study = factory.LazyFunction(lambda: Study.objects.first() or load_study())
    code = factory.Sequence(lambda n: f"{n + 1:02d}")
    name = factory.LazyAttribute(lambda s: f"Hospital {s.code}")
    staff_email = factory.LazyAttribute(lambda s: f"site{s.code}@example.org")
    # Tests state their dates on the server's day (dt.date.today()); a test about a site's own
    # day names its zone.
    timezone = "UTC"


def member(user, site_or_study, role: str) -> Membership:
    if isinstance(site_or_study, Site):
        return Membership.objects.create(
            user=user, study=site_or_study.study, site=site_or_study, role=role
        )
    return Membership.objects.create(user=user, study=site_or_study, site=None, role=role)


def screen(site: Site, consent_date: dt.date | None = None, **kwargs):
    consent_date = consent_date or dt.date.today() - dt.timedelta(days=10)
    return subject_services.screen_subject(
        ChangeContext.system(), site, consent_date=consent_date, icf_version="1.0", **kwargs
    )


def api_token(user, name: str = "test") -> str:
    """A new API token's key for `user`, issued as the application issues one."""
    from edc.accounts.services import issue_token

    return issue_token(ChangeContext.system(), user, name=name)[1]
