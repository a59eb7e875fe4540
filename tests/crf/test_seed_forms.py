"""The CRF pipeline on a real seed study file (T-REIRR), not only on the test fixture."""

import datetime as dt

import pytest

from crf.services import FormInvalid, WarningsNeedConfirmation, save_form
from edc.audit.context import ChangeContext
from tests.factories import SiteFactory, load_study, screen

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()


@pytest.fixture
def reirr_subject():
    study = load_study("t-reirr.yaml")
    return screen(SiteFactory(study=study, code="01"), consent_date=TODAY - dt.timedelta(days=20))


def staging(**values):
    base = {
        "STDAT": (TODAY - dt.timedelta(days=15)).isoformat(),
        "STCTX": "RECURRENT",
        "NDISTLES": "0",
    }
    return {**base, **values}


def test_the_study_files_staging_checks_are_not_doubled_by_the_engine(reirr_subject):
    ctx = ChangeContext.system()
    with pytest.raises(FormInvalid) as caught:
        save_form(
            ctx,
            reirr_subject,
            "SCREENING",
            1,
            "stg",
            1,
            staging(STEDIT="9", TSTAGE="T2", NSTAGE="N1", MSTAGE="M0", ADVENE="Y"),
            row_version=0,
        )
    assert [d["code"] for d in caught.value.details if d["severity"] == "error"] == ["ST01"]
    saved = save_form(
        ctx,
        reirr_subject,
        "SCREENING",
        1,
        "stg",
        1,
        staging(STEDIT="8", TSTAGE="T4", NSTAGE="N1", MSTAGE="M0"),
        row_version=0,
    )
    assert saved.data["STAGE"] == "IVA"  # spec §5.4 S5, 8th edition
    assert "M0 with T4 or N3" in saved.derived["STAGE"]


def test_the_seed_induction_form_computes_the_planned_gemcitabine_dose_and_flags_a_deviation(
    reirr_subject,
):
    ctx = ChangeContext.system()
    vitals = {
        "VSDAT": (TODAY - dt.timedelta(days=10)).isoformat(),
        "HEIGHT": "170",
        "WEIGHT": "70",
        "SYSBP": "120",
        "DIABP": "80",
        "ANTIHTN": "N",
        "ECOG": "0",
    }
    save_form(ctx, reirr_subject, "SCREENING", 1, "vs", 1, vitals, row_version=0)
    cycle = {
        "INDCYC": "1",
        "INDDAT": (TODAY - dt.timedelta(days=2)).isoformat(),
        "PD1GIVEN": "N",
        "CHEMGIVN": "N",
        "INDACT": "GIVEN",
    }
    # T-REIRR: gemcitabine 1000 mg/m² with Mosteller BSA √(170 × 70 / 3600) = 1.82 m² → 1820 mg.
    saved = save_form(
        ctx, reirr_subject, "INDUCTION", 1, "ind", 1, {**cycle, "GEMDOSE": "1800"}, row_version=0
    )
    assert saved.derived["GEMDOSE"]["planned_mg"] == "1820"
    assert saved.derived["GEMDOSE"]["deviation_percent"] == "-1.1"
    assert saved.confirmed_warnings == []
    with pytest.raises(WarningsNeedConfirmation) as caught:
        save_form(
            ChangeContext.system("corrected"),
            reirr_subject,
            "INDUCTION",
            1,
            "ind",
            1,
            {**cycle, "GEMDOSE": "1400"},
            row_version=1,
        )
    (warning,) = caught.value.warnings
    assert (warning.item, warning.code) == ("GEMDOSE", "dose_deviation")
    assert "1400 mg differs from the planned 1820 mg by -23.1%" in warning.message
    assert "give the reason in Reason for delay, reduction or discontinuation" in warning.message
