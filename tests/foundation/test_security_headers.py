"""Headers a security review expects on every response, and a production configuration that
`check --deploy` passes without a warning."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import SiteFactory, UserFactory, api_token, member

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(study):
    user = UserFactory(username="nurse")
    member(user, SiteFactory(study=study, code="01"), "site_staff")
    return user


def directives(header: str) -> dict[str, list[str]]:
    parts = (p.split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def test_pages_carry_a_policy_that_allows_no_inline_script_and_are_not_stored(staff, study):
    client = Client()
    client.force_login(staff)
    response = client.get(f"/studies/{study.code}/")
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "no-store" in response["Cache-Control"]


def test_api_answers_are_not_stored_either(staff, study):
    client = Client(HTTP_AUTHORIZATION=f"Token {api_token(staff)}")
    response = client.get(f"/api/v1/studies/{study.code}/subjects/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_api_docs_page_has_no_inline_script(staff):
    client = Client()
    client.force_login(staff)
    page = client.get("/api/docs/").content.decode()
    for tag in page.split("<script")[1:]:
        opening = tag.split(">", 1)[0]
        assert "src=" in opening, f"inline script on /api/docs/: <script{tag[:80]}"


def test_check_deploy_with_production_settings_gives_no_warning(tmp_path):
    # Production's environment only: nothing an earlier test left in os.environ.
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="edc.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        EDC_VAR_DIR=str(tmp_path),
        EDC_HTTPS="1",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="edc.example.org",
        DEBUG="0",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
