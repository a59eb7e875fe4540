"""Split and coalesced target lesions recorded on the tumour form and applied by the RECIST
engine (domain.md §2.3), and the review flag of a CR followed by a PR without confirmation
(§2.7). Baseline: worked example B1 (SoD 107 mm)."""

import datetime as dt

import pytest

from crf.rules.recist import OverallAtDate, RecistParameters, Response, best_overall_response
from crf.rules.recist_responses import ReviewFlag
from crf.services import FormInvalid, save_form
from tests.crf.test_special_forms import BASELINE_LESIONS, baseline, ctx, lesion_row, on

TARGETS = ("L1", "L2", "L4", "N2", "N1")


def rows(sizes: dict, non_target="PRESENT", extra=()):
    """Follow-up lesion rows: baseline lesions with `sizes` (a target absent from `sizes` is
    left out, e.g. because it split), then `extra` rows."""
    out = []
    for lid, cls, site, loc, node, _ in BASELINE_LESIONS:
        if cls == "TARGET" and lid not in sizes:
            continue
        row = lesion_row(lid, cls, site, loc, node, sizes.get(lid))
        if cls == "NON_TARGET":
            row["TRNTSTAT"] = non_target
        out.append(row)
    return out + list(extra)


def assess(user, subject, repeat, day, lesions, response, row_version=0):
    data = {"TUDAT": on(day), "RSORRES": response, "lesions": lesions}
    return save_form(
        ctx(user), subject, "INDUCTION_TA", repeat, "tu", 1, data, row_version=row_version
    )


def changes(instance) -> list[str]:
    return instance.derived["recist"]["lesion_changes"]


@pytest.mark.django_db
def test_coalesced_lesions_count_once_and_the_response_follows(staff, subject):
    baseline(staff, subject)
    l2 = lesion_row("L2", "TARGET", "LIVER", "Liver segment 4", "N", "0")
    l2["TRCOAL"] = "L1"
    sizes = {"L1": "80", "L4": "12", "N2": "22", "N1": "16"}
    lesions = [r for r in rows(sizes) if r["TULNKID"] != "L2"] + [l2]
    saved = assess(staff, subject, 1, 42, lesions, "PD")
    # 80 (the mass on L1) + 0 (L2) + 12 + 22 + 16 = 130 mm: +23 mm and +21.5 % vs 107 ⇒ PD.
    assert saved.data["RSCALC"] == "PD"
    assert saved.derived["recist"]["sum"] == "130 mm"
    assert changes(saved) == [
        "L2 coalesced into L1: the mass (80 mm) counts once on L1 and L2 count 0 mm"
    ]
    assert changes(saved)[0] in saved.derived["recist"]["derivation"]


@pytest.mark.django_db
def test_a_smaller_coalesced_mass_is_stable_disease(staff, subject):
    baseline(staff, subject)
    l2 = lesion_row("L2", "TARGET", "LIVER", "Liver segment 4", "N", None)  # blank counts 0
    l2["TRCOAL"] = "L1"
    sizes = {"L1": "60", "L4": "12", "N2": "22", "N1": "16"}
    saved = assess(staff, subject, 1, 42, [*rows(sizes), l2], "SD")
    assert (saved.data["RSCALC"], saved.derived["recist"]["sum"]) == ("SD", "110 mm")


@pytest.mark.django_db
def test_a_split_lesion_is_the_sum_of_its_fragments(staff, subject):
    baseline(staff, subject)
    fragments = []
    for fid, size in (("L1a", "12"), ("L1b", "8")):
        row = lesion_row(fid, "TARGET", "LIVER", "Liver segment 7", "N", size)
        row["TRSPLIT"] = "L1"
        fragments.append(row)
    sizes = {"L2": "15", "L4": "8", "N2": "12", "N1": "9"}
    saved = assess(staff, subject, 1, 42, rows(sizes, extra=fragments), "PR")
    # L1 = 12 + 8 = 20; SoD 20 + 15 + 8 + 12 + 9 = 64 mm, −40.2 % vs 107 ⇒ PR (as R1).
    assert (saved.data["RSCALC"], saved.derived["recist"]["sum"]) == ("PR", "64 mm")
    assert changes(saved) == [
        "L1 split into L1a 12 mm + L1b 8 mm: the fragments are summed, L1 = 20 mm"
    ]


def coalesced_row(lid, into, size):
    row = lesion_row(lid, "TARGET", "LIVER", "Liver", "N", size)
    row["TRCOAL"] = into
    return row


def fragment_row(fid, parent, size):
    row = lesion_row(fid, "TARGET", "LIVER", "Liver", "N", size)
    row["TRSPLIT"] = parent
    return row


@pytest.mark.parametrize(
    ("sizes", "extra", "item", "code"),
    [
        # The partner of a coalescence records 0 mm: the mass is measured once.
        ({"L1": "60", "L4": "12", "N2": "22", "N1": "16"}, [coalesced_row("L2", "L1", "60")], "TRLD", "coalesced_size"),
        # Into a lesion not on the form.
        ({"L4": "12", "N2": "22", "N1": "16"}, [coalesced_row("L2", "L1", "0")], "TRCOAL", "coalesced_into_unknown"),
        # A fragment of a lesion that is not a baseline target.
        ({"L1": "20", "L2": "15", "L4": "8", "N2": "12", "N1": "9"}, [fragment_row("X1a", "X1", "5")], "TRSPLIT", "split_of_unknown"),
        # The split lesion itself listed beside its fragments.
        ({"L1": "20", "L2": "15", "L4": "8", "N2": "12", "N1": "9"}, [fragment_row("L1a", "L1", "5")], "TRSPLIT", "split_listed"),
        # A fragment without its diameter.
        ({"L2": "15", "L4": "8", "N2": "12", "N1": "9"}, [fragment_row("L1a", "L1", None)], "TRLD", "fragment_size"),
    ],
)  # fmt: skip
@pytest.mark.django_db
def test_split_and_merge_records_that_cannot_be_applied_are_refused(
    staff, subject, sizes, extra, item, code
):
    baseline(staff, subject)
    lesions = [r for r in rows(sizes) if r["TULNKID"] != "L2" or "L2" in sizes] + extra
    with pytest.raises(FormInvalid) as caught:
        assess(staff, subject, 1, 42, lesions, "SD")
    assert (item, code) in {(d["item"], d["code"]) for d in caught.value.details}


# ---- the review flag of a CR followed by a PR ------------------------------------------------

DAY0 = dt.date(2026, 3, 2)


def series(*pairs):
    return [
        OverallAtDate(f"A{n}", DAY0 + dt.timedelta(days=day), response)
        for n, (day, response) in enumerate(pairs, start=1)
    ]


def test_cr_then_pr_without_confirmation_keeps_cr_and_carries_the_flag():
    result = best_overall_response(series((42, Response.CR), (84, Response.PR)), DAY0)
    assert result.response is Response.CR
    assert result.flags == frozenset({ReviewFlag.CR_FOLLOWED_BY_PR})
    assert any("CR at A1 followed by PR at A2" in line for line in result.derivation)
    # No flag when nothing contradicts the CR, or when the PR came first.
    assert not best_overall_response(series((42, Response.CR), (84, Response.CR)), DAY0).flags
    assert not best_overall_response(series((42, Response.PR), (84, Response.CR)), DAY0).flags
    # With confirmation required the existing Mode B flag still applies.
    confirmed = best_overall_response(
        series((42, Response.CR), (84, Response.PR)),
        DAY0,
        RecistParameters(confirmation_required=True),
    )
    assert ReviewFlag.UNCONFIRMED_CR_FOLLOWED_BY_PR in confirmed.flags


@pytest.mark.django_db
def test_cr_then_pr_on_the_tumour_forms_carries_the_best_response_flag(staff, subject):
    baseline(staff, subject)
    cr = assess(
        staff,
        subject,
        1,
        42,
        rows(dict(zip(TARGETS, ("0", "0", "0", "9", "8"), strict=True)), "ABSENT"),
        "CR",
    )
    assert cr.data["RSCALC"] == "CR" and cr.derived["recist"]["bor_flags"] == []
    # L1 visible again at 3 mm: SoD 20 mm, +3 mm vs the 17 mm nadir (not PD), −81 % vs baseline.
    pr = assess(
        staff,
        subject,
        2,
        84,
        rows(dict(zip(TARGETS, ("3", "0", "0", "9", "8"), strict=True)), "ABSENT"),
        "PR",
    )
    assert pr.data["RSCALC"] == "PR"
    note = pr.derived["recist"]
    assert note["best_overall_response"] == "CR"
    assert note["bor_flags"] == ["cr_followed_by_pr"]
