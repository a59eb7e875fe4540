"""No English left on zh-Hans pages: every page each demo role reaches by following links, read
in Simplified Chinese, has no whole text node equal to an English catalogue string (one whose
translation differs) or to an English study text. Proper names, codes and units are fine: they
are in neither list, or read the same in both languages."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict, deque
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve

from edc.demo.services import DEMO_USERS, seed_demo
from edc.studies.models import Study
from tests.factories import load_study

pytestmark = pytest.mark.django_db

SEEDS = ["t-reirr.yaml", "t-lrrt.yaml", "t-refr.yaml", "t-rtv.yaml"]
# Pages per route: the crawl reads a few of each kind (every subject page is the same template).
PER_ROUTE = 3
# Not pages for people: the API, the Django admin (Django's own catalogue), files to download.
SKIP_PREFIXES = ("/api/", "/admin/", "/static/", "/accounts/logout/")
SKIP_ROUTES = {"export-download", "randomization-list-csv", "export-progress"}
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def english_catalogue_strings() -> tuple[set[str], list[re.Pattern]]:
    """Whole strings, and patterns for strings with placeholders, that have a different zh-Hans
    translation, from every catalogue of the project."""
    exact: set[str] = set()
    patterns: list[re.Pattern] = []
    root = Path(settings.BASE_DIR)
    for folder in ("edc", "crf", "randomization"):
        for path in (root / folder).rglob("locale/zh_Hans/LC_MESSAGES/django.po"):
            for entry in polib.pofile(str(path)):
                chinese = entry.msgstr or entry.msgstr_plural.get(0, "")
                for english in filter(None, (entry.msgid, entry.msgid_plural)):
                    if english == chinese or "<" in english:
                        continue
                    if PLACEHOLDER.search(english):
                        parts = PLACEHOLDER.split(english.replace("%%", "%"))
                        # Two English words at least: "Site %(code)s" alone would also match
                        # stored names such as "Site staff (demo)".
                        if len(" ".join(parts).split()) >= 2:
                            body = ".+".join(re.escape(p) for p in parts)
                            patterns.append(re.compile(f"^{body}$", re.S))
                    else:
                        exact.add(english.strip())
    return exact, patterns


def english_study_texts() -> set[str]:
    """Every study text of the seed studies as written in English, unless its Chinese reads the
    same (a proper name or an abbreviation)."""
    from edc.studies.texts import source_text, study_text, text_fields

    found = set()
    for study in Study.objects.exclude(current_version=None):
        definition = study.definition
        for _path, text in text_fields(definition):
            english = source_text(text).strip()
            if english and study_text(definition, text, "zh-Hans").strip() != english:
                found.add(english)
    return found


# Attributes people read too: tooltips, screen-reader labels, hints.
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


def text_nodes(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    for skipped in tree.xpath("//script|//style"):
        skipped.drop_tree()
    nodes = []
    for element in tree.iter():
        texts = [element.text, element.tail, *(element.get(a) for a in READ_ATTRIBUTES)]
        nodes += [" ".join(text.split()) for text in texts if text and text.strip()]
    return nodes


def crawl(client: Client) -> tuple[dict[str, str], list[str]]:
    """GET every internal link from the home page (a few pages per route); (url -> html, errors)."""
    seen_routes: dict[str, int] = defaultdict(int)
    pages: dict[str, str] = {}
    errors: list[str] = []
    queue = deque(["/", "/accounts/preferences/"])
    visited = set(queue)
    while queue:
        url = queue.popleft()
        response = client.get(url)
        if response.status_code != 200:
            errors.append(f"{url}: {response.status_code}")
            continue
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        pages[url] = html
        for href in lxml.html.fromstring(html).xpath("//a/@href"):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in visited or parts.path.startswith(SKIP_PREFIXES):
                continue
            try:
                route = resolve(parts.path).url_name or parts.path
            except Resolver404:
                errors.append(f"{url} links to {target}, which is no page")
                continue
            if route in SKIP_ROUTES or seen_routes[route] >= PER_ROUTE:
                continue
            seen_routes[route] += 1
            visited.add(target)
            queue.append(target)
    return pages, errors


@pytest.fixture
def demo(db):
    for name in SEEDS:
        load_study(name)
    return seed_demo(dt.date.today())


def test_no_english_is_left_on_any_page_a_demo_role_reaches_in_chinese(demo):
    exact, patterns = english_catalogue_strings()
    exact |= english_study_texts()
    assert len(exact) > 500 and patterns  # both lists were really read
    offenders: dict[str, set[str]] = defaultdict(set)
    broken: list[str] = []
    crawled = 0
    for username in DEMO_USERS:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
        client.force_login(demo[0].study.memberships.get(user__username=username).user)
        pages, errors = crawl(client)
        broken += [f"{username}: {error}" for error in errors]
        assert len(pages) >= 3, username
        crawled += len(pages)
        for url, html in pages.items():
            assert '<html lang="zh-hans">' in html, url
            for node in text_nodes(html):
                if node in exact or any(p.match(node) for p in patterns):
                    offenders[node].add(f"{username} {url}")
    assert crawled > 100
    assert broken == [], "\n".join(broken)
    report = [f"{node!r} on {sorted(where)[0]}" for node, where in sorted(offenders.items())]
    assert report == [], "\n".join(report)
