"""Pages show the study's own texts in the reader's language, with the study's first language as
fallback, and rule reasons as sentences with their working behind a "details" toggle."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from tests.crf.conftest import crf_definition, load_crf_study
from tests.crf.test_eligibility import enter_registration_data
from tests.factories import SiteFactory, UserFactory, member, screen

TEXTS = {
    "ECOG 0-1": "ECOG评分0-1分",
    "ECOG performance status": "ECOG体能状态",
    "Demographics": "人口学资料",
    "Screening": "筛选",
}


@pytest.fixture
def bilingual(db):
    definition = copy.deepcopy(crf_definition())
    definition["languages"] = ["en", "zh-Hans"]
    definition["translations"] = {"zh-Hans": {"texts": TEXTS}}
    site = SiteFactory(study=load_crf_study(definition), code="01")
    staff = UserFactory(username="staff_zh")
    member(staff, site, "site_staff")
    investigator = UserFactory(username="pi_zh")
    member(investigator, site, "investigator")
    subject = screen(site, consent_date=dt.date.today() - dt.timedelta(days=30))
    enter_registration_data(staff, subject, ecog="2")
    client = Client()
    client.force_login(investigator)
    return subject, client


def get(client, address: str, language: str) -> str:
    with translation.override(language):
        response = client.get(address, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_eligibility_page_in_chinese_shows_study_texts_and_sentences(bilingual):
    subject, client = bilingual
    address = f"/studies/{subject.study.code}/subjects/{subject.subject_id}/eligibility/"
    page = get(client, address + "?point=registration", "zh-hans")
    assert '<p class="criterion-text">ECOG评分0-1分</p>' in page
    assert "<li>ECOG体能状态 2，不属于 {0, 1}</li>" in page
    assert "<summary>详情</summary>" in page
    assert "<li>ECOG体能状态 2 ∉ {0, 1}</li>" in page  # the working, behind the toggle
    english = get(client, address + "?point=registration", "en")
    assert '<p class="criterion-text">ECOG 0-1</p>' in english
    assert "<li>ECOG performance status 2 is none of {0, 1}</li>" in english
    assert "<summary>Details</summary>" in english


def test_form_page_lays_out_the_form_in_the_reader_language(bilingual):
    subject, client = bilingual
    address = f"/studies/{subject.study.code}/subjects/{subject.subject_id}/forms/SCREENING/1/dm/1/"
    page = get(client, address, "zh-hans")
    assert "人口学资料" in page and "ECOG体能状态" in page and "筛选" in page
    # An untranslated label falls back to the study's first language.
    assert "Date of birth" in page
    english = get(client, address, "en")
    assert "ECOG performance status" in english and "ECOG体能状态" not in english
