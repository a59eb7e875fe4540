"""Minimization allocations replay from the seed; a list extension adds a new site's strata."""

import copy

import pytest
import yaml

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.studies.services import create_site, load_study_definition
from randomization.engine import Arm, HmacDrbg, minimization_assign
from randomization.models import Commitment, Stratum
from randomization.services import extend_list, go_live, randomize
from randomization.verification import verify
from tests.factories import FIXTURES, UserFactory, member
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.helpers import registered_subject


def variant(code, **randomization):
    data = copy.deepcopy(yaml.safe_load((FIXTURES / "minimal_study.yaml").read_text()))
    data["code"] = code
    data["randomization"].update(randomization)
    if data["randomization"]["method"] == "minimization":
        # Block sizes do not apply to minimization (check_study refuses them).
        data["randomization"].pop("block_sizes")
    study = load_study_definition(ChangeContext.system(), data, source_name=f"{code}.yaml").study
    return study


def staff(site):
    user = UserFactory()
    member(user, site, "site_staff")
    return ChangeContext(user, "api")


def test_minimization_follows_pocock_simon_draws_and_verifies(db):
    study = variant(
        "T-MIN", method="minimization", stratify_by_site=True, minimization_probability=0.8
    )
    site = create_site(ChangeContext.system(), study, code="01", name="One")
    result = go_live(ChangeContext.system(), study, seed=FIXED_SEED)
    assert (
        result.commitment.slot_count == 0
        and Stratum.objects.get(scheme__study=study).key == "minimization"
    )
    ctx = staff(site)
    counts: dict = {}
    for n, response in enumerate(["CR", "PR", "CR", "CR", "PR", "PR", "CR", "PR"], start=1):
        allocation = randomize(ctx, registered_subject(site, response)).allocation
        patient = {"response": response, "site": "01"}
        expected = minimization_assign(
            counts,
            patient,
            [Arm("A"), Arm("B")],
            {"response": 1.0, "site": 1.0},
            0.8,
            drbg=HmacDrbg(FIXED_SEED, "T-MIN", "minimization", block=n),
        )
        assert (allocation.sequence, allocation.arm) == (n, expected.arm)
        for factor, level in patient.items():
            by_arm = counts.setdefault(factor, {}).setdefault(level, {})
            by_arm[allocation.arm] = by_arm.get(allocation.arm, 0) + 1
    assert all(check.ok for check in verify(study, FIXED_SEED, result.salt))
    assert not all(check.ok for check in verify(study, bytes(32), result.salt))


def test_a_site_opened_after_go_live_gets_its_strata_by_an_audited_extension(db):
    study = variant("T-SITE", stratify_by_site=True)
    system = ChangeContext.system()
    first = create_site(system, study, code="01", name="One")
    result = go_live(system, study, seed=FIXED_SEED, min_slots_per_stratum=6)
    late_site = create_site(system, study, code="02", name="Two")
    subject = registered_subject(late_site, "CR")
    with pytest.raises(DomainError) as refused:
        randomize(staff(late_site), subject)
    assert refused.value.code == "stratum_not_available"
    before = {
        s.key: list(s.slots.order_by("sequence").values_list("arm", flat=True))
        for s in Stratum.objects.filter(scheme__study=study)
    }
    with pytest.raises(DomainError) as no_reason:
        extend_list(system, study)
    assert no_reason.value.code == "reason_required"
    extend_list(system.with_reason("site 02 opened"), study, min_slots_per_stratum=10)
    after = {
        s.key: list(s.slots.order_by("sequence").values_list("arm", flat=True))
        for s in Stratum.objects.filter(scheme__study=study)
    }
    assert set(after) == {
        "response=CR|site=01",
        "response=PR|site=01",
        "response=CR|site=02",
        "response=PR|site=02",
    }
    for key, arms in before.items():
        assert after[key][: len(arms)] == arms and len(after[key]) >= 10
    assert randomize(staff(late_site), subject).allocation.stratum.key == "response=CR|site=02"
    randomize(staff(first), registered_subject(first, "PR"))
    kinds = list(Commitment.objects.filter(scheme__study=study).values_list("kind", flat=True))
    assert kinds == ["go_live", "extension"]
    assert all(check.ok for check in verify(study, FIXED_SEED, result.salt))
