"""The API docs work offline: Swagger UI and Redoc come from the app's own static files. The
browser's network beyond the test server is cut off, and nothing is asked of another host."""

import os
from pathlib import Path
from urllib.parse import urlparse

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
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RANDOMIZE_PATH = "/api/v1/studies/{study_code}/subjects/{subject_id}/randomization/"


@pytest.fixture
def offline_page():
    """A page whose requests to any host but this machine are aborted, and the list of them."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    elsewhere: list[str] = []

    def local_only(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", local_only)
        yield context.new_page(), elsewhere
        chromium.close()
        connections.close_all()


def test_swagger_ui_renders_the_operations_with_the_network_cut_off(live_server, offline_page):
    page, elsewhere = offline_page
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{live_server.url}/api/docs/")
    randomize = page.locator(".opblock-summary-path", has_text=RANDOMIZE_PATH).first
    expect(randomize).to_be_visible(timeout=20000)
    assert page.locator(".opblock").count() > 10
    expect(page.locator(".opblock-post", has_text=RANDOMIZE_PATH)).to_have_count(1)
    # The start-up script is a file of its own: no inline script on the page.
    assert page.locator("script:not([src])").count() == 0
    page.screenshot(path=str(ARTIFACTS / "api-docs-swagger-1280.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    expect(randomize).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "api-docs-swagger-390.png"))
    assert elsewhere == []
    assert failed == []


def test_redoc_renders_the_operations_with_the_network_cut_off(live_server, offline_page):
    page, elsewhere = offline_page
    page.goto(f"{live_server.url}/api/redoc/")
    expect(page.get_by_text("Randomize a subject").first).to_be_attached(timeout=30000)
    expect(page.locator("h1", has_text="NPC EDC and randomization API")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "api-docs-redoc-1280.png"))
    assert elsewhere == []
