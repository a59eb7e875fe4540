"""The site-day benchmark's database: built once per size, topped up before every run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc_bench_site_1000 \
        python -m edc.sitebench.prepare --subjects 1000 --plan plan.json

Every seed study with the demo (sites, one user per role, subjects, forms, queries), then
cohort subjects (edc.reminders.bench's replayed histories, with their planned visits) up to
`--subjects`; per demo site of T-REIRR, screened subjects with a saved vital-signs form for the
workload to correct; open queries for it to answer. Writes the plan the workload reads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from pathlib import Path

STUDY = "T-REIRR"
# Site 02 of the demo is locked (the demo export), so the day runs at site 01.
SITES = ("01",)
FORMS_PER_SITE = 80
OPEN_QUERIES_PER_SITE = 400
BUILT_MARK = "sitebench-built"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, required=True)
    parser.add_argument("--plan", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "edc.settings")
    os.environ["EDC_DEMO"] = "1"
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("the site-day benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    if not _built():
        build(args.subjects)
    plan = top_up()
    args.plan.write_text(json.dumps(plan, indent=1))
    from edc.subjects.models import Subject

    print(f"database ready: {Subject.objects.count():,} subjects", flush=True)


def _built() -> bool:
    from django.db import connection

    from edc.audit.models import AuditEvent

    if "audit_auditevent" not in connection.introspection.table_names():
        return False
    return AuditEvent.objects.filter(action=BUILT_MARK).exists()


def build(total: int) -> None:
    from django.core.management import call_command

    from edc.audit.context import ChangeContext
    from edc.audit.services import record
    from edc.demo.services import seed_demo
    from edc.reminders import bench as cohort
    from edc.studies.models import Site, Study
    from edc.subjects.models import Subject

    call_command("migrate", verbosity=0)
    call_command("load_study", "--all", verbosity=0)
    print("seeding the demo …", flush=True)
    seed_demo()
    _screened_forms()
    missing = total - Subject.objects.count()
    if missing > 0:
        print(f"adding {missing:,} cohort subjects …", flush=True)
        rng = random.Random(17)
        studies = list(Study.objects.order_by("code"))
        templates = {
            s.code: cohort.build_templates(s.current_version.definition, rng) for s in studies
        }
        sites = {s.pk: list(Site.objects.filter(study=s).order_by("code")) for s in studies}
        cohort.insert_cohort(missing, studies, sites, templates, rng, scan_day=dt.date.today())
    call_command("create_db_roles", verbosity=0)
    record(
        ChangeContext.system(reason="benchmark"), BUILT_MARK, object_type="sitebench", object_id=1
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _screened_forms() -> None:
    """Per site, subjects with a saved vital-signs form, saved through the page as a browser does."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from crf.bench import _flat
    from crf.definitions import study_forms
    from crf.sample_values import sample_form
    from edc.audit.context import ChangeContext
    from edc.studies.models import Site
    from edc.subjects.services import screen_subject

    system = ChangeContext.system("sitebench")
    consent = dt.date.today() - dt.timedelta(days=30)
    for code in SITES:
        site = Site.objects.get(study__code=STUDY, code=code)
        forms = study_forms(site.study.current_version_id)
        client = Client()
        client.force_login(get_user_model().objects.get(username=_coordinator(code)))
        for _ in range(FORMS_PER_SITE):
            subject = screen_subject(system, site, consent_date=consent, icf_version="1.0")
            values = sample_form(
                forms.forms["vs"], forms.codelists, consent, {"VSDAT": consent.isoformat()}
            )
            response = client.post(
                _form_url(subject.subject_id),
                {**_flat(values), "row_version": "0", "action": "save", "confirm_warnings": "1"},
            )
            if response.status_code != 302:
                sys.exit(f"vital signs save refused ({response.status_code})")


def _coordinator(site_code: str) -> str:
    return "coordinator" if site_code == "01" else "coordinator2"


def _form_url(subject_id: str) -> str:
    return f"/studies/{STUDY}/subjects/{subject_id}/forms/SCREENING/1/vs/1/"


def top_up() -> dict:
    """Open queries for the run to answer, and the plan: users, subjects, forms, queries."""
    from django.contrib.auth import get_user_model

    from crf.bench import _flat
    from crf.models import FormInstance
    from edc.audit.context import ChangeContext
    from edc.datamanagement import services
    from edc.datamanagement.models import Query
    from edc.demo.services import DEMO_PASSWORD
    from edc.studies.models import Site
    from edc.subjects.models import Subject

    monitor = get_user_model().objects.get(username="monitor")
    ctx = ChangeContext(user=monitor, channel="web", reason="")
    plan: dict = {"study": STUDY, "password": DEMO_PASSWORD, "sites": {}}
    for code in SITES:
        site = Site.objects.get(study__code=STUDY, code=code)
        forms = list(
            FormInstance.objects.filter(site=site, form_code="vs", event_code="SCREENING")
            .select_related("subject")
            .order_by("pk")
        )
        open_queries = Query.objects.filter(site=site, status="open")
        missing = OPEN_QUERIES_PER_SITE - open_queries.count()
        for number in range(max(0, missing)):
            services.raise_query(
                ctx,
                forms[number % len(forms)],
                item_code="WEIGHT",
                text="Please confirm the weight.",
            )
        plan["sites"][code] = {
            "staff": [_coordinator(code), "investigator" if code == "01" else "investigator2"],
            "subjects": list(
                Subject.objects.filter(site=site)
                .order_by("?")
                .values_list("subject_id", flat=True)[:200]
            ),
            "forms": [
                # what the page posts: the entered items, not the derived ones (BSA)
                {
                    "url": _form_url(f.subject.subject_id),
                    "body": _flat({k: v for k, v in f.data.items() if k not in f.derived}),
                }
                for f in forms
            ],
            "queries": list(open_queries.order_by("pk").values_list("pk", flat=True)),
        }
    return plan


if __name__ == "__main__":
    main()
