"""Demo data for exports: site 02 of one study gets screening forms (entered through the CRF
save path by its coordinator), is locked, and has a finished export that the demo data
manager can download at once. Call after the CRF and data management demo steps; running the
seed again adds nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from crf.definitions import study_forms
from crf.demo import DemoEntry
from crf.models import FormInstance
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.datamanagement import services as dm_services
from edc.datamanagement.models import Lock, LockLevel
from edc.exports import services
from edc.exports.models import ExportJob, ExportStatus

DEMO_STUDY = "T-REIRR"
DEMO_SITE = "02"


def seed_demo_exports(demo_studies, today: dt.date | None = None) -> ExportJob | None:
    demo = next((d for d in demo_studies if d.study.code == DEMO_STUDY), None)
    demo = demo or (demo_studies[0] if demo_studies else None)
    if demo is None or DEMO_SITE not in demo.sites:
        return None
    study, site = demo.study, demo.sites[DEMO_SITE]
    user = get_user_model().objects.get(username="datamanager")
    ctx = ChangeContext(user=user, channel=Channel.SYSTEM, reason="seed_demo")
    if not Lock.objects.filter(level=LockLevel.SITE, site=site, unlocked_at__isnull=True).exists():
        _screening_forms(demo.subjects.get(DEMO_SITE, [])[:2])
        dm_services.lock(ctx, "site", site, reason="Site closed out and cleaned (demo)")
    done = ExportJob.objects.filter(
        study=study, site_codes=[DEMO_SITE], all_sites=False, status=ExportStatus.DONE
    ).first()
    if done is not None:
        return done
    job = services.start_export(ctx, scope_of(user), study, formats=["all"], site_codes=[DEMO_SITE])
    return services.run_job(job.pk)


def _screening_forms(subjects) -> None:
    """Screening forms of the site's first subjects, so its export holds clinical data."""
    coordinator = get_user_model().objects.filter(username="coordinator2").first()
    if coordinator is None:
        return
    for subject in subjects:
        if FormInstance.objects.filter(subject=subject).exists():
            continue
        forms = study_forms(subject.protocol_version_id)
        event = "SCREENING" if "SCREENING" in forms.events else next(iter(forms.events), None)
        consent = subject.consents.order_by("consent_date").first()
        if event is None or consent is None:
            continue
        entry = DemoEntry(subject, coordinator, forms)
        day = consent.consent_date + dt.timedelta(days=1)
        for code in forms.events[event].get("forms", []):
            if code not in {"elig", "tu_bl"}:
                entry.sample(event, code, day, consent.consent_date)
