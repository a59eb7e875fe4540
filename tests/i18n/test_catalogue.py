"""The zh-Hans catalogue is complete and current: every string the code marks is in it, each is
translated (none fuzzy), placeholders survive translation, and the committed .mo matches."""

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
PO = ROOT / "edc" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
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
PLACEHOLDER = re.compile(r"%\(\w+\)s|%%")


def _keys(catalogue: polib.POFile) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in catalogue if not e.obsolete}


@pytest.fixture(scope="module")
def committed() -> polib.POFile:
    return polib.pofile(str(PO))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> polib.POFile:
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
    return polib.pofile(str(copy / PO.relative_to(ROOT)))


def test_makemessages_finds_no_string_missing_from_the_catalogue(fresh, committed):
    missing = _keys(fresh) - _keys(committed)
    stale = _keys(committed) - _keys(fresh)
    assert not missing, f"run `make messages` and translate: {sorted(missing)[:20]}"
    assert not stale, f"run `make messages`: no longer in the code: {sorted(stale)[:20]}"
    assert len(_keys(fresh)) > 500  # the scan really read the templates and the Python


def test_zh_hans_catalogue_has_no_untranslated_or_fuzzy_entry(committed):
    untranslated = [e.msgid for e in committed.untranslated_entries()]
    fuzzy = [e.msgid for e in committed.fuzzy_entries()]
    assert untranslated == []
    assert fuzzy == []
    assert committed.metadata["Language"] == "zh_Hans"


def test_every_translation_keeps_the_placeholders_of_its_english(committed):
    broken = []
    for entry in committed:
        if entry.msgid_plural:
            pairs = [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for english, chinese in pairs:
            if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(chinese)):
                broken.append((english, chinese))
    assert broken == []


def test_compiled_catalogue_matches_the_po_file(committed):
    compiled = {(e.msgctxt, e.msgid): e for e in polib.mofile(str(MO))}
    for entry in committed:
        found = compiled.get((entry.msgctxt, entry.msgid))
        assert found is not None, f"{entry.msgid!r} is not compiled: run `make messages`"
        if entry.msgid_plural:
            assert found.msgstr_plural == entry.msgstr_plural, entry.msgid
        else:
            assert found.msgstr == entry.msgstr, entry.msgid
    assert set(compiled) - {(None, "")} == _keys(committed)
