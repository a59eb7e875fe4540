"""A CRF study with one site, one person per role, and forms saved through the CRF service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from crf import services as crf_services
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from tests.crf.conftest import load_crf_study
from tests.factories import SiteFactory, UserFactory, member, screen

TODAY = dt.date.today()
DM = {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1"}


def ctx(user, reason: str = "") -> ChangeContext:
    return ChangeContext(user=user, channel=Channel.WEB, reason=reason)


def save_dm(user, subject, values=None, *, complete=True, reason="", row_version=None, **kw):
    """Demographics of the screening visit, saved as the page saves it."""
    from crf.models import FormInstance

    current = FormInstance.objects.filter(subject=subject, form_code="dm").first()
    return crf_services.save_form(
        ctx(user, reason),
        subject,
        "SCREENING",
        1,
        "dm",
        1,
        {**DM, **(values or {})},
        row_version=row_version
        if row_version is not None
        else (current.row_version if current else 0),
        complete=complete,
        **kw,
    )


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def crf_study(db):
    return load_crf_study()


@pytest.fixture
def site(crf_study):
    return SiteFactory(study=crf_study, code="01", staff_email="site01@example.org")


@pytest.fixture
def other_site(crf_study):
    return SiteFactory(study=crf_study, code="02")


@pytest.fixture
def coordinator(site):
    user = UserFactory(username="coord", first_name="Mei", last_name="Lin")
    member(user, site, "site_staff")
    return user


@pytest.fixture
def investigator(site):
    user = UserFactory(username="pi", first_name="Hai", last_name="Mai")
    member(user, site, "investigator")
    return user


@pytest.fixture
def monitor(crf_study):
    user = UserFactory(username="mon", first_name="Mona", last_name="Tor")
    member(user, crf_study, "monitor")
    return user


@pytest.fixture
def data_manager(crf_study):
    user = UserFactory(username="dman", first_name="Dana", last_name="Manager")
    member(user, crf_study, "data_manager")
    return user


@pytest.fixture
def subject(site):
    return screen(site, consent_date=TODAY - dt.timedelta(days=30))
