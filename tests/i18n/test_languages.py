"""The language a person reads: their saved preference (the header switch or the preferences
page), else the browser's Accept-Language, else the system default (English). E-mails go out in
each recipient's language and zone."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client

from edc.accounts.models import Preference
from edc.audit.context import ChangeContext
from edc.reminders.emails import VisitFacts, reminder
from edc.schedule.windows import VisitStatus
from randomization.models import Allocation
from randomization.services import follow_up_allocations, go_live, randomize
from tests.factories import SiteFactory, UserFactory, member
from tests.randomization.helpers import registered_subject

pytestmark = pytest.mark.django_db


def page_language(client: Client, url: str = "/") -> str:
    html = client.get(url).content.decode()
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_browser_language_then_saved_preference_then_default(coordinator_a):
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    login = anonymous.get("/accounts/login/").content.decode()
    assert '<html lang="zh-hans">' in login and "登录" in login and "Sign in" not in login
    assert page_language(Client(), "/accounts/login/") == "en"

    chinese_browser = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    chinese_browser.force_login(coordinator_a)
    assert page_language(chinese_browser) == "zh-hans"
    # The header switch saves the person's choice, which then beats the browser.
    switched = chinese_browser.post("/accounts/language/", {"language": "en", "next": "/"})
    assert switched.status_code == 302 and switched.url == "/"
    assert Preference.objects.get(user=coordinator_a).language == "en"
    assert page_language(chinese_browser) == "en"
    # Saved, so it follows the person to another browser.
    other = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    other.force_login(coordinator_a)
    assert page_language(other) == "en"


def test_preferences_page_saves_language_and_refuses_unknown_values(coordinator_a):
    client = Client()
    client.force_login(coordinator_a)
    page = client.get("/accounts/preferences/").content.decode()
    assert 'name="language"' in page and 'name="time_zone"' not in page  # site-bound
    saved = client.post("/accounts/preferences/", {"language": "zh-hans"})
    assert saved.status_code == 302
    assert page_language(client) == "zh-hans"
    refused = client.post("/accounts/preferences/", {"language": "fr"})
    assert refused.status_code == 200 and 'class="field has-error"' in refused.content.decode()
    assert Preference.objects.get(user=coordinator_a).language == "zh-hans"


def test_a_study_wide_reader_may_choose_a_time_zone_on_the_preferences_page(study):
    monitor = UserFactory(username="monitor_tz")
    member(monitor, study, "monitor")
    client = Client()
    client.force_login(monitor)
    assert 'name="time_zone"' in client.get("/accounts/preferences/").content.decode()
    saved = client.post("/accounts/preferences/", {"language": "", "time_zone": "Europe/Paris"})
    assert saved.status_code == 302
    assert Preference.objects.get(user=monitor).time_zone == "Europe/Paris"
    bad = client.post("/accounts/preferences/", {"language": "", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 200


def test_api_error_messages_follow_the_language_but_codes_do_not():
    english = Client().post("/api/v1/auth/token/", {"username": "nobody", "password": "x"})
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-CN").post(
        "/api/v1/auth/token/", {"username": "nobody", "password": "x"}
    )
    assert english.status_code == chinese.status_code == 401
    assert english.json()["error"]["code"] == chinese.json()["error"]["code"]
    assert english.json()["error"]["message"] == "password: username or password is wrong"
    assert chinese.json()["error"]["message"] == "password: 用户名或密码错误"


def test_reminder_text_is_whole_sentences_in_the_active_language():
    from django.utils import translation

    facts = VisitFacts(
        "T-X", "01", "T-X-01-0001", "Follow-up", "FU", 2, None,
        dt.date(2026, 3, 9), dt.date(2026, 3, 2), dt.date(2026, 3, 16), dt.date(2026, 3, 30),
    )  # fmt: skip
    with translation.override("zh-hans"):
        title, body = reminder(facts, VisitStatus.OVERDUE, dt.date(2026, 3, 17))
    assert title == "[T-X] T-X-01-0001：Follow-up (FU #2) 已逾期（目标日期 2026-03-09）"
    assert "窗口期：2026-03-02 至 2026-03-16" in body
    with translation.override("en"):
        title, _body = reminder(facts, VisitStatus.OVERDUE, dt.date(2026, 3, 17))
    assert title == "[T-X] T-X-01-0001: Follow-up (FU #2) is overdue (target 2026-03-09)"


def test_site_email_in_chinese_and_a_person_with_english_gets_english(study):
    shared = SiteFactory(study=study, code="01", timezone="Asia/Shanghai", language="zh-hans")
    # No shared mailbox at this one: its site staff and investigators are mailed one by one.
    people = SiteFactory(
        study=study, code="02", timezone="Asia/Shanghai", language="zh-hans", staff_email=""
    )
    english = UserFactory(username="english_reader", email="reader@example.org")
    member(english, people, "investigator")
    Preference.objects.create(user=english, language="en")
    chinese = UserFactory(username="chinese_reader", email="duzhe@example.org")
    member(chinese, people, "site_staff")
    with time_machine.travel(dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC), tick=False):
        go_live(ChangeContext.system(), study, seed=bytes(range(32)))
        first = registered_subject(shared, "PR")
        randomize(ChangeContext.system(), first, idempotency_key="tz-1")
        second = registered_subject(people, "PR")
        randomize(ChangeContext(english, "web"), second, idempotency_key="tz-2")
        mail.outbox.clear()
        follow_up_allocations()
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    site_mail = by_recipient[(shared.staff_email,)]
    assert "随机化时间：2026-03-02 01:30 CST" in site_mail.body
    assert site_mail.subject.startswith(f"[T-MINI] {first.subject_id} 已随机化")
    assert "随机化时间：2026-03-02 01:30 CST" in by_recipient[(chinese.email,)].body
    english_mail = by_recipient[(english.email,)]
    assert "Randomized at: 2026-03-02 01:30 CST" in english_mail.body
    assert english_mail.subject.startswith(f"[T-MINI] {second.subject_id} randomized")
    assert Allocation.objects.count() == 2
