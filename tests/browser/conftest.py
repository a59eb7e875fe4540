"""Fixtures for browser journeys: the app served for real (``served``) and Chromium
(``browser``). See tests/browser/journey.py."""

import os

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from tests.browser.journey import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, JourneyBrowser, serve

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="package")
def served_app(django_db_setup, tmp_path_factory):
    """The processes behind ``served``, started once for the journeys of this package: starting
    gunicorn and a worker with beat took seconds per journey. Stopped when the package ends,
    so no beat keeps sending while the rest of the suite runs."""
    stack = serve(tmp_path_factory.mktemp("served"))
    with stack:
        yield stack.served


@pytest.fixture
def served(transactional_db, served_app):
    """gunicorn + a Celery worker with beat + a loopback SMTP inbox, on the test database.
    Yields an object with ``.url``, ``.inbox``, ``.wait_for(...)`` and ``.logs()``. Create the
    journey's data before the pages need it: the server reads the same (committed) database,
    which is emptied after each journey as for any transactional test. The processes are
    shared by the package's journeys; each journey starts with an empty inbox, and the
    worker's queue is drained before the database is emptied (``Served.settle``)."""
    served_app.begin()
    yield served_app
    served_app.settle()


@pytest.fixture
def browser(request):
    """Chromium for one journey; screenshots go to test-artifacts/browser/<test name>/ unless
    the test sets ``browser.name``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = request.node.name.removeprefix("test_")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield JourneyBrowser(chromium, name)
        chromium.close()
        # Queries made while Playwright runs use a connection of their own (Django keys
        # connections by async context); close it so the test database can be dropped.
        connections.close_all()
