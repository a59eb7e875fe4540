"""Error pages are the site's own (styled, with a way back home), the 500 page renders with no
database and no request context, and the favicon is served where browsers look for it."""

import re

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_styled_with_a_way_home(html: str) -> None:
    assert "/static/edc/edc.css" in html
    assert "/static/edc/favicon.svg" in html
    assert 'class="button primary" href="/"' in html


def test_an_unknown_page_answers_the_styled_404(coordinator_a):
    response = signed_in(coordinator_a).get("/no/such/page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert_styled_with_a_way_home(html)
    assert "Page not found" in html
    # The header still knows who is signed in.
    assert "Sign out" in html


def test_a_page_the_role_does_not_allow_answers_the_styled_403(study, coordinator_a):
    response = signed_in(coordinator_a).get(f"/studies/{study.code}/exports/")
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert_styled_with_a_way_home(html)
    assert "You are not allowed to do this" in html


def test_the_500_page_renders_without_a_database_or_request_context():
    # No db fixture: any database query here fails the test.
    response = server_error(RequestFactory().get("/anything/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert_styled_with_a_way_home(html)
    assert "Something went wrong on our side" in html
    assert "Sign out" not in html


@pytest.mark.django_db
def test_an_unhandled_error_in_a_view_answers_the_styled_500(settings):
    settings.ROOT_URLCONF = "tests.foundation.failing_urls"
    response = Client(raise_request_exception=False).get("/fail/")
    assert response.status_code == 500
    assert_styled_with_a_way_home(response.content.decode())


@pytest.mark.parametrize("name", ["403.html", "404.html", "500.html"])
def test_every_text_of_the_error_pages_is_translatable(name):
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "edc" / "templates" / name).read_text()
    assert "{% load i18n %}" in source
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", source, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}|<[^>]+>", "", text, flags=re.S)
    assert text.strip() == "", f"text outside translate tags: {text.strip()!r}"


def test_the_favicon_is_linked_and_served_at_favicon_ico(client):
    icon = client.get("/favicon.ico", follow=True)
    assert icon.status_code == 200
    assert icon.redirect_chain[0][0] == "/static/edc/favicon.svg"
    assert b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])
