"""Domain rules that need no database are pure modules: importing one loads no Django at all.

Each module is imported in a fresh interpreter (this test process has Django loaded already), and
the check is on `sys.modules`, so an import hidden in a dependency is caught too. The `edc`
package itself loads the Celery app (and with it `django.conf`), as Celery's Django guide asks;
so the probe imports the packages first and counts the Django modules the rule module adds.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PURE_MODULES = [
    "edc.errors",
    "edc.phrases",
    "edc.subjects.lifecycle",
    "crf.validation",
    "crf.rules.ctcae",
    "crf.rules.recist_baseline",
    "crf.rules.dosing",
    "crf.rules.eligibility",
    "crf.rules.recist",
]

PROBE = (
    "import importlib, sys; import edc, crf; "
    "django = lambda: {m for m in sys.modules if m == 'django' or m.startswith('django.')}; "
    "before = django(); importlib.import_module(sys.argv[1]); print(sorted(django() - before))"
)


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_no_django(module):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"{module} loads Django: {done.stdout.strip()}"
