"""Every URL pattern (pages, API, admin) × every role × an object of a foreign site.

Each role is held at site 01 (the study admin at the study: it administers and reads no clinical
data). Every pattern is filled with site 02's objects (its code, its subject, that subject's
form, query, lock, visit and lab range; in the admin, a site-02 row of the pattern's model) and
asked with GET and with an empty POST. Nothing may answer 5xx; no answer may carry site 02's
subject ID; and no request may write anything about site 02's subject."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from crf.models import FormInstance
from crf.services import save_form
from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.datamanagement.services import lock, raise_query
from edc.reminders.models import PlannedVisit
from tests.crf.conftest import load_crf_study
from tests.factories import SiteFactory, UserFactory, api_token, member, screen

pytestmark = pytest.mark.django_db

ROLES = ["site_staff", "investigator", "monitor", "data_manager", "statistician", "study_admin"]
# Patterns that end or replace the session, or catch every admin path: asked by other tests.
NOT_ASKED = {"logout", "login", "admin:logout", "admin:login", "admin:view_on_site"}


@dataclass
class Foreign:
    study: Any
    subject: Any
    form: FormInstance
    query: Any
    lock: Any
    visit: PlannedVisit | None


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name}", entry.callback


@pytest.fixture
def foreign(db) -> Foreign:
    study = load_crf_study()
    SiteFactory(study=study, code="01")
    site = SiteFactory(study=study, code="02", name="Foreign hospital")
    subject = screen(site, consent_date=dt.date.today() - dt.timedelta(days=30))
    system = ChangeContext.system()
    form = save_form(
        system,
        subject,
        "SCREENING",
        1,
        "dm",
        1,
        {"BRTHDAT": "1970-03-01", "SEX": "F", "WEIGHT": "61.5", "ECOG": "1"},
        row_version=0,
    )
    query = raise_query(system, form, item_code="WEIGHT", text="Please check the weight")
    # A lock waits for queries to close, so the lock is on a second site-02 subject.
    locked = screen(site, consent_date=dt.date.today() - dt.timedelta(days=30))
    return Foreign(
        study=study,
        subject=subject,
        form=form,
        query=query,
        lock=lock(system, "subject", locked, reason="reviewed"),
        visit=PlannedVisit.objects.filter(subject=subject).first(),
    )


def people(study) -> dict[str, Any]:
    home = study.sites.get(code="01")
    users = {}
    for role in ROLES:
        user = UserFactory(username=f"matrix_{role}", is_staff=role == "study_admin")
        member(user, study if role == "study_admin" else home, role)
        users[role] = user
    return users


def admin_object_id(callback, foreign: Foreign) -> str | None:
    """A row of the admin view's model that belongs to site 02, if the model has one."""
    model_admin = getattr(callback, "model_admin", None)
    if model_admin is None:
        return None
    model = model_admin.model
    names = {f.name for f in model._meta.get_fields()}
    for field, value in (
        ("subject", foreign.subject),
        ("form_instance", foreign.form),
        ("site", foreign.subject.site),
    ):
        if field in names:
            row = model._default_manager.filter(**{field: value}).first()
            return None if row is None else str(row.pk)
    if model is type(foreign.subject):
        return str(foreign.subject.pk)
    return None


def fill(pattern: str, callback, foreign: Foreign) -> str | None:
    """The pattern with site 02's objects in it, or None when it names nothing of a site."""
    values = {
        "study_code": foreign.study.code,
        "site_code": foreign.subject.site.code,
        "subject_id": foreign.subject.subject_id,
        "event_code": foreign.form.event_code,
        "event_repeat": str(foreign.form.event_repeat),
        "form_code": foreign.form.form_code,
        "form_repeat": str(foreign.form.form_repeat),
        "form_id": str(foreign.form.pk),
        "visit_id": str(foreign.visit.pk) if foreign.visit else "999999",
        "action": "screen_fail",
        "job_id": "999999",
    }
    if "/queries/<int:pk>" in pattern:
        values["pk"] = str(foreign.query.pk)
    elif "/locks/<int:pk>" in pattern:
        values["pk"] = str(foreign.lock.pk)
    elif "<path:object_id>" in pattern:
        object_id = admin_object_id(callback, foreign)
        if object_id is None:
            return None
        values["object_id"] = object_id
    if "(?P<" in pattern or "<path:content_type_id>" in pattern:
        return None

    def value_of(match: re.Match) -> str:
        return values.get(match.group(2), "1")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value_of, pattern).lstrip("^").rstrip("$")


def test_no_role_reads_or_writes_a_foreign_sites_data_and_nothing_answers_500(foreign):
    users = people(foreign.study)
    writes_before = AuditEvent.objects.filter(subject=foreign.subject).count()
    urls = sorted(
        {
            (url, name)
            for pattern, name, callback in walk(get_resolver())
            if name not in NOT_ASKED and (url := fill(pattern, callback, foreign))
        }
    )
    assert len(urls) > 60, urls  # pages, API and admin: the matrix is not vacuous
    asked, problems = 0, []
    for role, user in users.items():
        page = Client(raise_request_exception=False)
        page.force_login(user)
        token = api_token(user)
        api = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
        for url, name in urls:
            client = api if url.startswith("/api/") else page
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                asked += 1
                body = b"" if response.streaming else response.content
                if response.status_code >= 500:
                    problems.append(
                        f"{role} {method.upper()} {url} ({name}): {response.status_code}"
                    )
                elif response.status_code < 300 and foreign.subject.subject_id.encode() in body:
                    problems.append(f"{role} {method.upper()} {url} ({name}): shows the subject")
    assert problems == [], "\n".join(problems)
    written = AuditEvent.objects.filter(subject=foreign.subject).count() - writes_before
    assert written == 0, list(
        AuditEvent.objects.filter(subject=foreign.subject).values_list("action", "actor_username")
    )[writes_before:]
    assert asked == len(users) * len(urls) * 2
