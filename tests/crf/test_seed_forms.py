"""The CRF pipeline on a real seed study file (T-REIRR), not only on the test fixture."""

import datetime as dt

import pytest

from crf.services import FormInvalid, save_form
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
