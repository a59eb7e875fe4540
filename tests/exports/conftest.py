"""A small study with every item type, filled at two sites, with queries, allocations and an
audit trail, built through the real services wherever they exist.

Forms are written directly, as the CRF save path stores them (the CRF app tests its own save
path), with the audit rows that path writes; allocations are written from real go-live slots,
as the randomization service stores them (its eligibility gate needs the CRF app).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import timezone

from crf.models import FormInstance
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.audit.services import Change, record_changes
from edc.datamanagement import services as dm_services
from edc.studies.models import Site, Study
from edc.subjects.models import Subject
from randomization.models import Allocation, Stratum
from randomization.services import go_live
from tests.factories import SiteFactory, UserFactory, load_study, member, screen


def use_export_folder(settings, root: Path) -> Path:
    """Build exports under `root` and keep their archives there (the "exports" storage)."""
    settings.EXPORT_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return root


STUDY_FILE = Path(__file__).with_name("export_study.yaml")
SCHEMA = "ODM1-3-2.xsd"

# (event, event repeat, form, form repeat, status, data) per subject, in the order entered.
S1_FORMS = [
    (
        "SCREEN",
        1,
        "demographics",
        1,
        "complete",
        {
            "BRTHDAT": "1970-01-02",
            "SEX": "F",
            "WEIGHT": "61.5",
            "HOMETOWN": '广州, "Canton"',
            "RACE": ["ASIAN", "OTHER"],
            "SMOKER": False,
            "DIAGDAT": "2025-03",
        },
    ),
    ("RAND", 1, "randomization", 1, "complete", {"STRESP": "CR"}),
    (
        "CYCLE",
        1,
        "tumour",
        1,
        "complete",
        {
            "TUDAT": "2026-02-01",
            "lesions": [
                {"LESID": "T1", "LOC": "NP", "LDIAM": "23.0"},
                {"LESID": "T2", "LOC": "NECK", "LDIAM": "15.5"},
            ],
        },
    ),
    (
        "CYCLE",
        2,
        "tumour",
        1,
        "complete",
        {
            "TUDAT": "2026-02-22",
            "TUNOTE": "line one\nline two",
            "lesions": [{"LESID": "T1", "LOC": "NP", "LDIAM": "20.0"}],
        },
    ),
    ("CYCLE", 3, "tumour", 1, "not_done", {}),
    (
        "CYCLE",
        1,
        "ae",
        1,
        "complete",
        {"AETERM": "Nausea", "AETOXGR": "2", "AESER": "N", "AESTDAT": "2026-02"},
    ),
    ("CYCLE", 1, "ae", 2, "in_progress", {"AETERM": "Fatigue", "AETOXGR": "1"}),
    ("UNSCHED", 1, "ae", 1, "removed", {"AETERM": "entered in error"}),
]
S2_FORMS = [
    (
        "SCREEN",
        1,
        "demographics",
        1,
        "complete",
        {"BRTHDAT": "1980-05-06", "SEX": "M", "WEIGHT": "80", "SMOKER": True},
    ),
    ("RAND", 1, "randomization", 1, "complete", {"STRESP": "PR"}),
]


def schema_path() -> Path:
    """CDISC's official ODM 1.3.2 schema (MIT licence), a copy of ../shared/schemas/odm-1.3.2
    kept beside the tests so that a clone anywhere validates its exports."""
    return Path(__file__).resolve().parent / "schemas" / "odm-1.3.2" / SCHEMA


def load_export_study() -> Study:
    return load_study(STUDY_FILE)


def store_form(subject: Subject, event, erep, form, frep, status, data, user=None) -> FormInstance:
    """A form as the CRF save path stores it, with the audit rows it writes."""
    instance = FormInstance.objects.create(
        subject=subject,
        study_id=subject.study_id,
        site_id=subject.site_id,
        protocol_version_id=subject.protocol_version_id,
        event_code=event,
        event_repeat=erep,
        form_code=form,
        form_repeat=frep,
        status=status,
        data=data,
        completed_at=timezone.now() if status == "complete" else None,
    )
    record_changes(
        ChangeContext(user=user, channel=Channel.WEB),
        "create",
        [Change(code, None, value) for code, value in data.items()],
        object_type="crf.FormInstance",
        object_id=instance.pk,
        study=subject.study,
        site=subject.site,
        subject=subject,
    )
    return instance


def allocate(subject: Subject, scheme, response: str, at: dt.datetime) -> Allocation:
    """An allocation as the randomization service stores it, from the next slot of the
    subject's stratum of the live list."""
    stratum = next(
        s for s in Stratum.objects.filter(scheme=scheme) if s.values == {"response": response}
    )
    slot = stratum.slots.order_by("sequence").filter(available=True).first()
    slot.available = False
    slot.save(update_fields=["available"])
    stratum.next_sequence = slot.sequence + 1
    stratum.save(update_fields=["next_sequence"])
    return Allocation.objects.create(
        subject=subject,
        study=subject.study,
        site=subject.site,
        scheme=scheme,
        stratum=stratum,
        slot=slot,
        sequence=slot.sequence,
        arm=slot.arm,
        stratum_values={"response": response, "site": subject.site.code},
        randomized_by_username="inv_a",
        randomized_at=at,
        channel="web",
    )


@dataclass
class Filled:
    study: Study
    site_a: Site
    site_b: Site
    s1: Subject
    s2: Subject
    forms: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    allocations: list = field(default_factory=list)
    queries: list = field(default_factory=list)


@pytest.fixture
def filled(db) -> Filled:
    study = load_export_study()
    site_a = SiteFactory(study=study, code="01", name="Hospital One")
    site_b = SiteFactory(study=study, code="02", name="Hospital Two")
    users = {
        "dm": UserFactory(username="dm"),
        "stat": UserFactory(username="stat"),
        "dm_a": UserFactory(username="dm_a"),
        "monitor": UserFactory(username="monitor"),
        "staff_a": UserFactory(username="staff_a"),
        "staff_b": UserFactory(username="staff_b"),
        "admin": UserFactory(username="admin"),
    }
    member(users["dm"], study, "data_manager")
    member(users["stat"], study, "statistician")
    member(users["dm_a"], site_a, "data_manager")
    member(users["monitor"], study, "monitor")
    member(users["staff_a"], site_a, "site_staff")
    member(users["staff_b"], site_b, "site_staff")
    member(users["admin"], study, "study_admin")
    s1 = screen(site_a)
    s2 = screen(site_b)
    filled = Filled(study, site_a, site_b, s1, s2, users=users)
    for subject, forms, user in (
        (s1, S1_FORMS, users["staff_a"]),
        (s2, S2_FORMS, users["staff_b"]),
    ):
        for event, erep, form, frep, status, data in forms:
            filled.forms[(subject.subject_id, event, erep, form, frep)] = store_form(
                subject, event, erep, form, frep, status, data, user
            )
    dm_ctx = ChangeContext(user=users["dm"], channel=Channel.WEB)
    weight = filled.forms[(s1.subject_id, "SCREEN", 1, "demographics", 1)]
    q1 = dm_services.raise_query(dm_ctx, weight, item_code="WEIGHT", text="Please confirm 61.5 kg")
    dm_services.act_on_query(
        ChangeContext(user=users["staff_a"], channel=Channel.WEB), q1, "answer", "Confirmed"
    )
    dm_services.act_on_query(dm_ctx, q1, "close", "")
    lesion = filled.forms[(s1.subject_id, "CYCLE", 1, "tumour", 1)]
    q2 = dm_services.raise_query(
        dm_ctx, lesion, item_code="LDIAM", group_row=2, text="Diameter of T2?"
    )
    dm_services.act_on_query(dm_ctx, q2, "cancel", "Resolved by phone")
    sex_b = filled.forms[(s2.subject_id, "SCREEN", 1, "demographics", 1)]
    q3 = dm_services.raise_query(dm_ctx, sex_b, item_code="SEX", text="Sex as on ID?")
    dm_services.act_on_query(dm_ctx, q3, "cancel", "Duplicate")
    filled.queries = [q1, q2, q3]
    scheme = go_live(ChangeContext.system(), study, seed=bytes(range(32))).scheme
    now = timezone.now()
    filled.allocations = [allocate(s1, scheme, "CR", now), allocate(s2, scheme, "PR", now)]
    return filled


def lock_study(filled: Filled, reason: str = "database lock for analysis"):
    return dm_services.lock(
        ChangeContext(user=filled.users["dm"], channel=Channel.WEB), "study", filled.study, reason
    )
