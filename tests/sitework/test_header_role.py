"""The header names the person and their role in the study and site being viewed."""

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import SiteFactory, UserFactory, load_study, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(study):
    refr = load_study("t-refr.yaml")
    user = UserFactory(username="both", first_name="Mei", last_name="Lin")
    member(user, SiteFactory(study=study, code="01"), "site_staff")
    member(user, SiteFactory(study=refr, code="03"), "investigator")
    client = Client()
    client.force_login(user)
    return client


def header_role(page) -> str:
    html = page.content.decode()
    start = html.index('id="header-role">') + len('id="header-role">')
    return html[start : html.index("</span>", start)]


def test_the_header_names_the_role_of_the_study_and_site_in_view(person):
    assert header_role(person.get("/studies/T-MINI/")) == "Site staff · Site 01"
    assert header_role(person.get("/studies/T-REFR/sites/03/")) == "Investigator · Site 03"
    assert header_role(person.get("/")) == "Site staff, Investigator"


def test_the_role_is_translated(person):
    person.cookies["django_language"] = "zh-hans"
    with translation.override("zh-hans"):
        role = header_role(person.get("/studies/T-REFR/", HTTP_ACCEPT_LANGUAGE="zh-hans"))
        assert role == f"{translation.gettext('Investigator')} · " + translation.gettext(
            "Site %(code)s"
        ) % {"code": "03"}
    assert "Investigator" not in role


def test_the_role_costs_one_query(person, django_assert_num_queries, rf):
    from edc.accounts.context_processors import header_role_text

    request = person.get("/").wsgi_request
    with django_assert_num_queries(1):
        str(header_role_text(request)["header_role"])
