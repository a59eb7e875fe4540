"""The zh-Hans catalogues are complete and current: every string the code marks is in one, each
is translated (none fuzzy), placeholders survive translation, and the committed .mo files match.

A catalogue lives with its code: edc/locale/ (LOCALE_PATHS) for the project, and an app's own
locale/ folder when it has one (makemessages puts an app's strings there)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CATALOGUE = Path("locale") / "zh_Hans" / "LC_MESSAGES" / "django.po"
# The same options as `make messages`.
MAKEMESSAGES = [
    "makemessages",
    "-l",
    "zh_Hans",
    "--no-location",
    "--no-obsolete",
    "--ignore",
    "tests/*",
    "--ignore",
    "var/*",
    "--ignore",
    "deploy/*",
]
CODE = ["edc", "crf", "randomization", "manage.py"]
CATALOGUES = sorted(
    path.relative_to(ROOT)
    for folder in CODE
    for path in (ROOT / folder).rglob(str(CATALOGUE))
    if "var" not in path.relative_to(ROOT).parts
)
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")


def _keys(catalogues: list[polib.POFile]) -> set[tuple[str, str | None, str]]:
    return {
        (str(Path(c.fpath).relative_to(c.root)), e.msgctxt, e.msgid)
        for c in catalogues
        for e in c
        if not e.obsolete
    }


def _read(root: Path) -> list[polib.POFile]:
    found = []
    for relative in sorted(p.relative_to(root) for p in root.rglob(str(CATALOGUE))):
        catalogue = polib.pofile(str(root / relative))
        catalogue.root = root
        found.append(catalogue)
    return found


@pytest.fixture(scope="module")
def committed() -> list[polib.POFile]:
    catalogues = [polib.pofile(str(ROOT / path)) for path in CATALOGUES]
    for catalogue in catalogues:
        catalogue.root = ROOT
    return catalogues


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> list[polib.POFile]:
    """makemessages run over a copy of the code, so the committed catalogue is not touched."""
    copy = tmp_path_factory.mktemp("code")
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                copy / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.mo", "django.po"),
            )
        else:
            shutil.copy2(source, copy / name)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "edc.settings",
        "EDC_VAR_DIR": str(copy / "var"),
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=copy,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    return _read(copy)


def test_makemessages_finds_no_string_missing_from_the_catalogue(fresh, committed):
    missing = _keys(fresh) - _keys(committed)
    stale = _keys(committed) - _keys(fresh)
    assert not missing, f"run `make messages` and translate: {sorted(missing)[:20]}"
    assert not stale, f"run `make messages`: no longer in the code: {sorted(stale)[:20]}"
    assert len(_keys(fresh)) > 500  # the scan really read the templates and the Python
    assert ROOT / "edc" / CATALOGUE in [ROOT / path for path in CATALOGUES]


def test_zh_hans_catalogues_have_no_untranslated_or_fuzzy_entry(committed):
    for catalogue in committed:
        untranslated = [e.msgid for e in catalogue.untranslated_entries()]
        fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
        assert untranslated == [], catalogue.fpath
        assert fuzzy == [], catalogue.fpath
        assert catalogue.metadata["Language"] == "zh_Hans", catalogue.fpath


def test_every_translation_keeps_the_placeholders_of_its_english(committed):
    broken = []
    for entry in (e for catalogue in committed for e in catalogue):
        if entry.msgid_plural:
            pairs = [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for english, chinese in pairs:
            if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(chinese)):
                broken.append((english, chinese))
    assert broken == []


def test_compiled_catalogues_match_their_po_files(committed):
    for catalogue in committed:
        mo = Path(catalogue.fpath).with_suffix(".mo")
        compiled = {(e.msgctxt, e.msgid): e for e in polib.mofile(str(mo))}
        for entry in catalogue:
            found = compiled.get((entry.msgctxt, entry.msgid))
            assert found is not None, f"{entry.msgid!r} is not compiled: run `make messages`"
            if entry.msgid_plural:
                assert found.msgstr_plural == entry.msgstr_plural, entry.msgid
            else:
                assert found.msgstr == entry.msgstr, entry.msgid
        assert set(compiled) - {(None, "")} == {(e.msgctxt, e.msgid) for e in catalogue}
