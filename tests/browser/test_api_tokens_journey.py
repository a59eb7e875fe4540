"""A person manages their API tokens page by page (#16.5): from the header to Preferences, to
"My API tokens"; creates a token and sees its key once; revokes it after confirming. In English
and in Simplified Chinese, each page also at 390 px (journey.step). Set-up uses services; inside
the journey there are only clicks and typing."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect

from edc.accounts.models import ApiToken
from tests.browser.journey import sign_in, step, t
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_create_a_token_see_its_key_once_and_revoke_it(served, browser, language):
    browser.name = f"api_tokens_{language}"
    user = UserFactory(username=f"integrator-{language}", first_name="Wen", last_name="Li")
    page = sign_in(browser, served.url, user.username, language=language)

    page.locator("header .who a", has_text="Wen Li").click()
    page.locator("#my-tokens-link").click()
    expect(page.locator("h1")).to_have_text(t(language, "My API tokens"))
    expect(page.locator("#tokens tbody")).to_contain_text(t(language, "No tokens yet."))
    step(page, "no tokens yet")

    page.locator('input[name="name"]').fill("enrolment system")
    page.locator('input[name="expires_in_days"]').fill("30")
    page.locator('section[aria-labelledby="create-heading"] button[type="submit"]').click()
    key = page.locator("#new-token-key").inner_text().strip()
    assert len(key) == 40
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    expect(page.locator("#tokens tbody tr").first).to_contain_text("enrolment system")
    expect(page.locator("#tokens tbody tr").first).to_contain_text(key[:8])
    step(page, "token created, key shown once")

    # Back to the list the way a person would: the key is not shown again.
    page.locator("header .who a", has_text="Wen Li").click()
    page.locator("#my-tokens-link").click()
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    assert key not in page.content()
    expect(page.locator("#new-token")).to_have_count(0)

    page.locator("#tokens tbody tr a.button").click()
    expect(page.locator("h1")).to_have_text(t(language, "Revoke token"))
    step(page, "confirm revoking")
    page.locator("#confirm-revoke").click()
    row = page.locator("#tokens tbody tr").first
    expect(row).to_have_attribute("data-status", "revoked")
    expect(row.locator("a.button")).to_have_count(0)
    step(page, "token revoked")

    token = ApiToken.objects.get(owner=user)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.revoke_reason == "by_owner" and token.revoked_by == user
    assert (token.expires_at - token.created_at).days == 30
