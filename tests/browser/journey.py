"""The shared harness for browser journeys: one person going from page to page in Debian's
Chromium against the app served for real (gunicorn, a Celery worker with beat, and an SMTP
inbox both of them send to), on the pytest test database.

A journey uses the fixtures in tests/browser/conftest.py (``served`` and ``browser``) and these
helpers: ``sign_in`` opens a page signed in as a user; ``step`` saves a screenshot at the
current viewport and at 390 px wide and checks the page does not scroll sideways there; the
page loads are counted per journey so it can report how many it took."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import translation

from randomization.http_load import ROOT, Server, start_gunicorn
from tests.factories import PASSWORD
from tests.smtp import Inbox, smtp_server

ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE_WIDTH = 390


def database_url() -> str:
    """The pytest test database, as a URL the server and the worker processes can open."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Served:
    """The running app: its base URL, the SMTP inbox its e-mail reaches, and its logs."""

    url: str
    inbox: Inbox
    server: Server
    worker_log: Path
    # The Redis queue the web server and the worker share, when the tests run with Redis.
    broker_url: str | None = None
    key_prefix: str | None = None

    def logs(self) -> str:
        """The tails of the web server's and the worker's logs, for a failure message."""
        worker = self.worker_log.read_text() if self.worker_log.exists() else ""
        return f"--- gunicorn ---\n{self.server.log()[-4000:]}\n--- worker ---\n{worker[-4000:]}"

    def wait_for(self, condition: Callable[[], object], what: str, seconds: float = 60) -> None:
        """Wait until ``condition()`` is true (an e-mail, a worker's result), else fail with
        the logs."""
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"no {what} after {seconds} s:\n{self.logs()}"
            time.sleep(0.1)

    def begin(self) -> None:
        """A journey on processes an earlier journey used starts with an empty inbox."""
        with self.inbox.lock:
            self.inbox.messages.clear()

    def settle(self, seconds: float = 15) -> None:
        """Wait until the worker has taken every queued task, so none of this journey's tasks
        runs against the next journey's data (the database is emptied between journeys)."""
        if self.broker_url is None:
            return
        import redis

        client = redis.Redis.from_url(self.broker_url)
        try:
            deadline = time.monotonic() + seconds
            while client.llen(f"{self.key_prefix}celery") and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            client.close()


def _forget_keys(url: str, prefix: str) -> None:
    """Remove the journey's queues from the shared Redis (after the worker stopped)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def serve(tmp_path: Path) -> ExitStack:
    """Start the SMTP inbox, the worker (with beat) and gunicorn; the returned stack stops them.
    Web server and worker share a private broker (Redis keys of their own when the tests run
    with Redis, else a filesystem broker under ``tmp_path``), so no other test's queued message
    reaches this worker."""
    stack = ExitStack()
    inbox = stack.enter_context(smtp_server())
    mail = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(inbox.port),
    }
    shared = {
        "EDC_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": settings.SECRET_KEY,
        "CELERY_BROKER_URL": "filesystem://",
        "EDC_FOLLOW_UP_SECONDS": "1",
        **mail,
    }
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        # The tests' Redis with keys of this journey's own: kombu's filesystem transport can
        # hand the worker a message file before its writer has filled it (the worker then
        # stops on a JSON error), which beat's every-second sends made happen in long journeys.
        shared["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
        shared["EDC_BROKER_KEY_PREFIX"] = f"journey-{uuid.uuid4().hex}:"
    worker_env = {k: v for k, v in os.environ.items() if not k.startswith(("EDC_TEST_", "EMAIL_"))}
    worker_env.update(
        shared,
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="edc.settings",
        PYTHONUNBUFFERED="1",
    )
    if "EDC_BROKER_KEY_PREFIX" in shared:
        stack.callback(_forget_keys, shared["CELERY_BROKER_URL"], shared["EDC_BROKER_KEY_PREFIX"])
    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "edc", "worker", "--beat", "--pool", "solo",
             "--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def stop_worker() -> None:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)

    stack.callback(stop_worker)
    try:
        server = start_gunicorn(
            database_url(),
            tmp_path / "gunicorn.log",
            workers=2,
            extra_env=shared,
            # The test settings: the users' passwords were hashed with the tests' fast hasher.
            settings_module="tests.settings",
        )
    except BaseException:
        stack.close()
        raise
    stack.callback(server.stop)
    stack.served = Served(  # type: ignore[attr-defined]
        f"http://{server.host}:{server.port}",
        inbox,
        server,
        worker_log,
        broker_url=shared["CELERY_BROKER_URL"] if "EDC_BROKER_KEY_PREFIX" in shared else None,
        key_prefix=shared.get("EDC_BROKER_KEY_PREFIX"),
    )
    return stack


class JourneyBrowser:
    """Chromium for one journey: its screenshot folder (test-artifacts/browser/<name>/), the
    step counter and how many page loads its pages have made (``page.on("load")``)."""

    def __init__(self, chromium, name: str):
        self.chromium = chromium
        self.name = name
        self.page_loads = 0
        self.steps = 0

    @property
    def folder(self) -> Path:
        return ARTIFACTS / self.name

    def new_page(self, language: str | None = None, base: str | None = None):
        """A page in a fresh context (no cookies shared with other people's pages)."""
        context = self.chromium.new_context(viewport=DESKTOP)
        if language:
            assert base, "the language cookie needs the site's URL"
            context.add_cookies(
                [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
            )
        page = context.new_page()
        page.journey = self
        page.on("load", lambda _page: self._loaded())
        return page

    def _loaded(self) -> None:
        self.page_loads += 1


def t(language: str, text: str, **values) -> str:
    """`text` (a catalogue string) as a reader of `language` sees it."""
    with translation.override(language):
        return (translation.gettext(text) % values) if values else translation.gettext(text)


def sign_in(browser: JourneyBrowser, base: str, username: str, language: str | None = None):
    """A new page signed in as ``username``; with ``language``, the UI language cookie is set
    first, as the language switcher would."""
    page = browser.new_page(language=language, base=base)
    page.goto(f"{base}/accounts/login/")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    with page.expect_navigation():
        page.locator('form:has(input[name="password"]) button[type="submit"]').click()
    assert "/accounts/login/" not in page.url, (
        f"{username} could not sign in: {page.locator('main').inner_text()[:500]}"
    )
    return page


def step(page, name: str) -> None:
    """Screenshot the page as it is (NN-name.png) and at 390 px wide (NN-name-390.png), and
    fail if the page scrolls sideways at 390 px: every page a journey visits must fit a phone."""
    journey: JourneyBrowser = page.journey
    journey.steps += 1
    journey.folder.mkdir(parents=True, exist_ok=True)
    stem = f"{journey.steps:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"
    page.screenshot(path=str(journey.folder / f"{stem}.png"), full_page=True)
    viewport = page.viewport_size or DESKTOP
    page.set_viewport_size({"width": PHONE_WIDTH, "height": viewport["height"]})
    try:
        scroll_width, inner_width = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        page.screenshot(path=str(journey.folder / f"{stem}-390.png"), full_page=True)
        if scroll_width > inner_width:
            widest = page.evaluate(
                """(limit) => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > limit + 1)
                    .slice(0, 5).map(e => e.tagName.toLowerCase()
                        + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))""",
                inner_width,
            )
            raise AssertionError(
                f"{stem}: at {PHONE_WIDTH} px the page is {scroll_width} px wide"
                f" ({page.url}); elements past the edge: {widest}"
            )
    finally:
        page.set_viewport_size(viewport)
