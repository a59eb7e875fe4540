"""The 404 page in Chromium: styled like the site, with its favicon, readable at 390 px, and
its link leads back home."""

import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def test_the_404_page_is_styled_has_the_favicon_and_leads_home(live_server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 800})
            answer = page.goto(f"{live_server.url}/no/such/page/")
            assert answer.status == 404
            expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
            # The site's stylesheet applies: the card has the site's white background.
            card = page.locator(".card")
            assert card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
            icon = page.locator('link[rel="icon"]').get_attribute("href")
            assert (
                page.request.get(f"{live_server.url}{icon}")
                .headers["content-type"]
                .startswith("image/svg+xml")
            )
            page.screenshot(path=str(ARTIFACTS / "error-404-1280.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=str(ARTIFACTS / "error-404-390.png"), full_page=True)
            page.get_by_role("link", name="Back to the home page").click()
            expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
        finally:
            chromium.close()
            connections.close_all()
