"""Implausible dates are refused by name, through the page and the API, on every date item of a
seed study (T-REIRR): a year before 1900, a date far ahead, a date before birth where the study
file forbids it. No input answers 500."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from crf.models import FormInstance
from crf.services import save_form
from crf.study_forms import StudyForms
from crf.validation import DateBounds, clean_form
from edc.audit.context import ChangeContext
from edc.studies.protocol import check_file, validate
from tests.factories import SiteFactory, UserFactory, api_token, load_study, member, screen

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
BIRTH = dt.date(1970, 1, 1)
BEFORE_BIRTH = "1960-06-15"


@pytest.fixture
def reirr_definition():
    data, problems = check_file(settings.STUDIES_DIR / "t-reirr.yaml")
    assert not problems
    return data


@pytest.fixture
def reirr():
    study = load_study("t-reirr.yaml")
    site = SiteFactory(study=study, code="01")
    staff = UserFactory(username="dates_staff")
    member(staff, site, "site_staff")
    subject = screen(site, consent_date=TODAY - dt.timedelta(days=20))
    save_form(
        ChangeContext.system(),
        subject,
        "SCREENING",
        1,
        "dm",
        1,
        {"BRTHDAT": BIRTH.isoformat()},
        row_version=0,
        complete=False,
    )
    return subject, staff


def date_slots(definition):
    """(event, form, POST name, issue path, item) for every enterable date item."""
    forms = StudyForms.of(definition)
    for form in definition["forms"]:
        events = forms.events_with_form(form["code"])
        if not events:
            continue
        for item in form.get("items", []):
            if item["type"] in {"date", "partial_date", "datetime"} and not item.get("derived"):
                yield events[0]["code"], form["code"], item["code"], item["code"], item
        for group in form.get("groups", []):
            for item in group["items"]:
                if item["type"] in {"date", "partial_date", "datetime"}:
                    yield (
                        events[0]["code"],
                        form["code"],
                        f"{group['code']}.0.{item['code']}",
                        f"{group['code']}[1].{item['code']}",
                        item,
                    )


def bad_values(item):
    """(value, accepted codes) for each implausible date this item must refuse."""
    yield "0001-01-01", {"date_too_early"}
    yield "9999-12-31", {"future_date", "date_too_far_ahead"}
    if "birth" in item.get("not_before", ()):
        yield BEFORE_BIRTH, {"before_birth"}


def raw_values(name, value):
    if "." not in name:
        return {name: value}
    group, _, code = name.split(".")
    return {group: [{code: value}]}


def test_every_date_item_of_t_reirr_refuses_implausible_dates_on_the_page_and_in_the_api(
    reirr, reirr_definition
):
    subject, staff = reirr
    page = Client()
    page.force_login(staff)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff)}")
    checked = 0
    before_birth = 0
    for event, form, name, path, item in date_slots(reirr_definition):
        tail = f"{subject.subject_id}/forms/{event}/1/{form}/1/"
        saved = FormInstance.objects.filter(subject=subject, event_code=event, form_code=form)
        version = saved.values_list("row_version", flat=True).first() or 0
        for value, codes in bad_values(item):
            response = api.put(
                f"/api/v1/studies/T-REIRR/subjects/{tail}",
                {"values": raw_values(name, value), "row_version": version, "complete": False},
                format="json",
            )
            where = f"{form}.{path} = {value} (API)"
            assert response.status_code == 400, where
            error = response.json()["error"]
            assert error["field"] == path, where
            assert {d["code"] for d in error["details"] if d["path"] == path} & codes, where

            response = page.post(
                f"/studies/T-REIRR/subjects/{tail}",
                {"row_version": str(version), "action": "draft", name: value},
            )
            where = f"{form}.{path} = {value} (page)"
            assert response.status_code == 400, where
            html = response.content.decode()
            field = re.search(
                rf'<div class="field has-error[^"]*" data-path="{re.escape(path)}".*?</div>\s*</div>',
                html,
                re.S,
            )
            assert field and 'class="error"' in field.group(0), where
            checked += 1
            before_birth += value == BEFORE_BIRTH
    assert not FormInstance.objects.exclude(form_code="dm").exists()
    assert checked > 120 and before_birth > 40  # 58 date items, most of them after birth


def test_date_limits_in_the_pure_cleaner():
    form = {
        "code": "x",
        "items": [
            {"code": "VISDAT", "label": "Visit", "type": "date", "not_before": ["consent"]},
            {"code": "EDD", "label": "Due", "type": "date", "allow_future": True},
            {"code": "MHDAT", "label": "History", "type": "partial_date", "not_before": ["birth"]},
        ],
    }
    today = dt.date(2026, 3, 10)
    bounds = DateBounds(today, 2, birth=dt.date(1970, 5, 20), consent=dt.date(2026, 3, 1))

    def codes(**raw):
        result = clean_form(form, {}, raw, today=today, bounds=bounds)
        return [(i.item, i.code) for i in result.errors]

    assert codes(VISDAT="1899-12-31") == [("VISDAT", "date_too_early")]
    assert codes(VISDAT="2026-02-28") == [("VISDAT", "before_consent")]
    assert codes(VISDAT="2026-03-01") == []
    assert codes(VISDAT="2026-03-11") == [("VISDAT", "future_date")]
    assert codes(EDD="2028-03-10") == []
    assert codes(EDD="2028-03-11") == [("EDD", "date_too_far_ahead")]
    # A partial date is before birth only when its last possible day is.
    assert codes(MHDAT="1970-05") == []
    assert codes(MHDAT="1970-04") == [("MHDAT", "before_birth")]
    assert codes(MHDAT="1969") == [("MHDAT", "before_birth")]
    assert codes(MHDAT="0001") == [("MHDAT", "date_too_early")]
    # Unknown birth or consent dates limit nothing.
    loose = clean_form(form, {}, {"VISDAT": "2000-01-01"}, today=today)
    assert loose.errors == []


def test_medical_history_may_predate_consent_but_not_birth(reirr):
    subject, _ = reirr
    ctx = ChangeContext.system()
    long_ago = (TODAY - dt.timedelta(days=3000)).isoformat()
    saved = save_form(
        ctx,
        subject,
        "SCREENING",
        1,
        "mh",
        1,
        {"MIDAT": long_ago},
        row_version=0,
        complete=False,
    )
    assert saved.data["MIDAT"] == long_ago


def test_the_study_file_checker_knows_the_date_options(reirr_definition):
    import copy

    data = copy.deepcopy(reirr_definition)
    dm = next(f for f in data["forms"] if f["code"] == "dm")
    dm["items"][1]["not_before"] = ["consent"]  # SEX, a choice item
    data["dates"]["birth_date"] = {"form": "dm", "item": "SEX"}
    problems = [str(p) for p in validate(data)]
    assert any(
        p.startswith("forms[1].items[1].not_before") and "only date items" in p for p in problems
    ), problems
    assert "dates.birth_date: must name a full date item" in problems
    del data["dates"]
    dm["items"][1].pop("not_before")
    problems = [str(p) for p in validate(data)]
    assert any("names birth, but the study sets no dates.birth_date" in p for p in problems)
    data["dates"] = {"future_limit_years": -1}
    assert any(str(p).startswith("dates.future_limit_years") for p in validate(data))


NASTY = ["9" * 5000, "nul\x00here", "99999-01-01"]
CONTROL = {"csrfmiddlewaretoken", "row_version", "reason", "action", "confirm_warnings"}


def test_no_value_makes_any_form_page_of_t_reirr_answer_500(reirr, reirr_definition):
    """Every form of the study, every field the page offers (group rows included), through the
    save and the inline check: each nasty value is refused by name (400) or shown again, never
    a 500."""
    subject, staff = reirr
    page = Client()
    page.force_login(staff)
    forms = StudyForms.of(reirr_definition)
    checked = 0
    for form in reirr_definition["forms"]:
        events = forms.events_with_form(form["code"])
        if not events:
            continue
        url = f"/studies/T-REIRR/subjects/{subject.subject_id}/forms/{events[0]['code']}/1/{form['code']}/1/"
        html = page.get(url)
        assert html.status_code == 200, url
        text = html.content.decode()
        names = set(re.findall(r'name="([A-Za-z][A-Za-z0-9_]*(?:\.\d+\.[A-Z0-9]+)?)"', text))
        names -= CONTROL
        version = re.search(r'name="row_version" value="(\d+)"', text).group(1)
        for value in NASTY:
            posted = {"row_version": version, "reason": value, **dict.fromkeys(names, value)}
            for action, address in (("save", url), ("save", f"{url}check/")):
                response = page.post(address, {**posted, "action": action})
                assert response.status_code in {200, 302, 400}, (
                    form["code"],
                    action,
                    value[:12],
                    response.status_code,
                )
                checked += 1
    assert checked > 150  # 27 forms x 3 values x (save, check)
    assert not FormInstance.objects.exclude(form_code="dm").exists()


def test_a_nul_in_the_reason_for_change_is_refused_not_a_500(reirr):
    subject, staff = reirr
    page = Client()
    page.force_login(staff)
    response = page.post(
        f"/studies/T-REIRR/subjects/{subject.subject_id}/forms/SCREENING/1/dm/1/",
        {"row_version": "1", "action": "draft", "BRTHDAT": "1971-01-01", "reason": "typo\x00"},
    )
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
