"""Demo data for the run path: sites, one user per role, subjects at several stages.

Each app that adds features adds its own demo step below, called explicitly, so the running
demo always shows every feature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import translation

from crf.demo import seed_demo_crf
from edc.accounts.models import Membership
from edc.accounts.roles import Role
from edc.accounts.services import grant_membership
from edc.audit.context import ChangeContext
from edc.datamanagement.demo import seed_demo_datamanagement
from edc.exports.demo import seed_demo_exports
from edc.reminders.demo import seed_demo_reminders
from edc.studies.models import Site, Study
from edc.studies.services import create_site
from edc.subjects import services as subject_services
from edc.subjects.lifecycle import OffStudyReason, Status
from edc.subjects.models import Subject
from randomization.demo import seed_demo_randomization

DEMO_PASSWORD = "demo-edc-2026"
# The seed trials' sites (Guangzhou, Nanning) read e-mail in Simplified Chinese.
DEMO_SITE_LANGUAGE = "zh-hans"
DEMO_SITES = [
    ("01", "Sun Yat-sen University Cancer Center"),
    ("02", "Guangxi Medical University Cancer Hospital"),
]

# username -> (role, site code or None for all sites)
DEMO_USERS = {
    "coordinator": (Role.SITE_STAFF, "01"),
    "coordinator2": (Role.SITE_STAFF, "02"),
    "investigator": (Role.INVESTIGATOR, "01"),
    "investigator2": (Role.INVESTIGATOR, "02"),
    "monitor": (Role.MONITOR, None),
    "datamanager": (Role.DATA_MANAGER, None),
    "statistician": (Role.STATISTICIAN, None),
    "studyadmin": (Role.STUDY_ADMIN, None),
}


@dataclass
class DemoStudy:
    study: Study
    sites: dict[str, Site]
    subjects: dict[str, list[Subject]]


def _user(username: str, role: Role):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "email": f"{username}@example.org",
            "first_name": role.label,
            "last_name": "(demo)",
            "is_staff": role == Role.STUDY_ADMIN,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def _subjects_at_stages(
    ctx: ChangeContext, study: Study, site: Site, today: dt.date
) -> list[Subject]:
    model = study.definition["enrolment_model"]
    consent = today - dt.timedelta(days=40)
    made = []
    for _ in range(4):
        made.append(
            subject_services.screen_subject(
                ctx,
                site,
                consent_date=consent,
                icf_version="1.0",
                screening_date=consent + dt.timedelta(days=1),
            )
        )
    screening, registered, further, failed = made
    subject_services.transition(
        ctx, registered, Status.REGISTERED, on_date=consent + dt.timedelta(days=7)
    )
    subject_services.transition(
        ctx, further, Status.REGISTERED, on_date=consent + dt.timedelta(days=7)
    )
    if model == "register_before_induction":
        subject_services.transition(
            ctx, further, Status.INDUCTION, on_date=consent + dt.timedelta(days=8)
        )
    subject_services.transition(
        ctx, failed, Status.SCREEN_FAILED, on_date=consent + dt.timedelta(days=5)
    )
    return [Subject.objects.get(pk=s.pk) for s in made]


@transaction.atomic
def seed_demo(today: dt.date | None = None) -> list[DemoStudy]:
    today = today or dt.date.today()
    ctx = ChangeContext.system(reason="seed_demo")
    users = {name: _user(name, role) for name, (role, _) in DEMO_USERS.items()}
    seeded = []
    for study in Study.objects.exclude(current_version=None).order_by("code"):
        sites = {}
        for code, name in DEMO_SITES:
            site = Site.objects.filter(study=study, code=code).first() or create_site(
                ctx,
                study,
                code=code,
                name=name,
                staff_email=f"site{code}.{study.code.lower()}@example.org",
                language=DEMO_SITE_LANGUAGE,
            )
            sites[code] = site
        for username, (role, site_code) in DEMO_USERS.items():
            site = sites[site_code] if site_code else None
            if not Membership.objects.filter(
                user=users[username], study=study, site=site, role=role
            ).exists():
                grant_membership(ctx, user=users[username], study=study, site=site, role=role)
        subjects = {}
        for code, site in sites.items():
            existing = list(Subject.objects.filter(site=site).order_by("subject_id"))
            subjects[code] = existing or _subjects_at_stages(ctx, study, site, today)
        seeded.append(DemoStudy(study, sites, subjects))
    # Each feature adds its own demo data, in dependency order, so the demo shows every feature.
    # The demo sites work in Chinese: texts the system writes on their staff's behalf while
    # entering data (edit-check queries, reasons) are stored in the language of whoever entered.
    with translation.override(DEMO_SITE_LANGUAGE):
        seed_demo_crf(seeded, today)
        seed_demo_randomization(seeded, today)
        seed_demo_reminders(seeded, today)
        seed_demo_datamanagement(seeded, today)
        seed_demo_exports(seeded, today)
    return seeded


__all__ = ["seed_demo", "DEMO_PASSWORD", "DEMO_USERS", "OffStudyReason"]
