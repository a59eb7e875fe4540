"""Tumour assessment forms as RECIST 1.1 inputs, and the computed responses back. Pure Python.

A tumour assessment form (kind `tumour_assessment`) is a baseline form unless it has the derived
item RSCALC (the calculated overall response), which marks a follow-up form. Items: TUDAT the
assessment date, TUSLICE CT/MRI slice thickness; group `lesions` with TULNKID lesion id, TUCLASS
TARGET / NON_TARGET / NEW, TUSITE site code (NP, RPN, CN, DN, LUNG, LIVER, BONE, BRAIN, OTHER),
TULOC organ or location, TUNODE lymph node (Y/N), TRLD longest diameter, TRSA short axis (nodes),
TRDAT the lesion's own scan date, TRNTSTAT non-target status (PRESENT, ABSENT, UNEQUIVOCAL_PD,
NE), TRNEWEQ new lesion EQUIVOCAL / UNEQUIVOCAL, TRNE target not evaluable (Y), TRSPLIT (on a
fragment row: the baseline target it split from; its diameter is the fragment's), TRCOAL (on a
target row: the target it coalesced into, which carries the mass; this row records 0 mm).

A follow-up belongs to the latest baseline scanned before it (a new baseline after
re-irradiation starts a new episode).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crf.rules.recist import (
    Assessment,
    Baseline,
    BaselineLesion,
    Coalescence,
    NewLesion,
    NewLesionCertainty,
    NonTargetObservation,
    NonTargetStatus,
    RecistParameters,
    Response,
    SiteCode,
    Split,
    TargetMeasurement,
    classify_progression,
    evaluate_series,
    format_mm,
    mm,
)
from crf.validation import Issue, Severity
from edc.phrases import gettext_noop, phrase, to_json

LESIONS = "lesions"
CALCULATED = "RSCALC"
RESPONSE_CODES = {
    Response.CR: "CR",
    Response.PR: "PR",
    Response.SD: "SD",
    Response.NON_CR_NON_PD: "NON_CR_NON_PD",
    Response.PD: "PD",
    Response.NED: "NED",
    Response.NE: "NE",
}
NON_TARGET_STATUS = {
    "PRESENT": NonTargetStatus.PRESENT,
    "ABSENT": NonTargetStatus.ABSENT,
    "UNEQUIVOCAL_PD": NonTargetStatus.UNEQUIVOCAL_PROGRESSION,
    "NE": NonTargetStatus.NOT_EVALUATED,
}
# Sites that name an organ; lesions at other sites are grouped by their written location.
ORGAN_SITES = frozenset({SiteCode.LUNG, SiteCode.LIVER, SiteCode.BONE, SiteCode.BRAIN, SiteCode.NP})


def is_follow_up_form(form: Mapping[str, Any]) -> bool:
    return any(item["code"] == CALCULATED for item in form.get("items", []))


def _yes(value: Any) -> bool:
    return value is True or value == "Y"


def assessment_date(data: Mapping[str, Any]) -> dt.date | None:
    value = data.get("TUDAT")
    return dt.date.fromisoformat(value) if value else None


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _tenths(value: Any) -> int | None:
    return None if value in (None, "") else mm(str(value))


def _rows(data: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [row for row in data.get(LESIONS, []) if row.get("TUCLASS") == kind]


def _site(row: Mapping[str, Any]) -> SiteCode:
    return SiteCode(row.get("TUSITE") or SiteCode.OTHER)


def _organ(row: Mapping[str, Any]) -> str:
    site = _site(row)
    return site.value if site in ORGAN_SITES else str(row.get("TULOC") or site.value)


def _size(row: Mapping[str, Any]) -> int | None:
    return _tenths(row.get("TRSA") if _yes(row.get("TUNODE")) else row.get("TRLD"))


def baseline_from(data: Mapping[str, Any], treatment_start: dt.date | None = None) -> Baseline:
    date = assessment_date(data)
    if date is None:
        raise ValueError("the baseline has no assessment date")
    slice_tenths = _tenths(data.get("TUSLICE"))
    lesions = [
        BaselineLesion(
            lesion_id=str(row["TULNKID"]),
            organ=_organ(row),
            site=_site(row),
            is_node=_yes(row.get("TUNODE")),
            size_tenths=_size(row),
            is_target=True,
            slice_thickness_tenths=slice_tenths,
            scan_date=_date(row.get("TRDAT")),
        )
        for row in _rows(data, "TARGET")
    ]
    lesions += [
        BaselineLesion(
            lesion_id=str(row["TULNKID"]),
            organ=_organ(row),
            site=_site(row),
            is_node=_yes(row.get("TUNODE")),
            size_tenths=None,
            non_measurable_type=True,
            scan_date=_date(row.get("TRDAT")),
        )
        for row in _rows(data, "NON_TARGET")
    ]
    return Baseline(scan_date=date, lesions=tuple(lesions), treatment_start=treatment_start)


def _fragment_of(row: Mapping[str, Any]) -> str:
    return str(row.get("TRSPLIT") or "").strip()


def _coalesced_into(row: Mapping[str, Any]) -> str:
    return str(row.get("TRCOAL") or "").strip()


def lesion_changes(data: Mapping[str, Any]) -> tuple[tuple[Split, ...], tuple[Coalescence, ...]]:
    """The splits (fragment rows grouped by the target they split from) and coalescences
    (target rows grouped by the target they coalesced into) recorded on a follow-up form."""
    fragments: dict[str, list[tuple[str, int]]] = {}
    merged: dict[str, list[str]] = {}
    for row in _rows(data, "TARGET"):
        if parent := _fragment_of(row):
            fragments.setdefault(parent, []).append((str(row["TULNKID"]), _size(row) or 0))
        elif into := _coalesced_into(row):
            merged.setdefault(into, []).append(str(row["TULNKID"]))
    return (
        tuple(Split(lid, tuple(parts)) for lid, parts in fragments.items()),
        tuple(Coalescence(into, tuple(partners)) for into, partners in merged.items()),
    )


def assessment_from(assessment_id: str, data: Mapping[str, Any]) -> Assessment:
    date = assessment_date(data)
    if date is None:
        raise ValueError(f"assessment {assessment_id} has no date")
    splits, coalescences = lesion_changes(data)
    targets = []
    for row in _rows(data, "TARGET"):
        if _fragment_of(row) or _coalesced_into(row):
            continue  # applied by the engine from `splits` and `coalescences`
        lid, when, size = str(row["TULNKID"]), _date(row.get("TRDAT")), _size(row)
        if _yes(row.get("TRNE")) or size is None:
            targets.append(TargetMeasurement.not_evaluated(lid, when))
        else:
            targets.append(TargetMeasurement(lid, size, scan_date=when))
    non_targets = [
        NonTargetObservation(
            str(row["TULNKID"]),
            NON_TARGET_STATUS.get(row.get("TRNTSTAT") or "NE", NonTargetStatus.NOT_EVALUATED),
            _date(row.get("TRDAT")),
        )
        for row in _rows(data, "NON_TARGET")
    ]
    new_lesions = [
        NewLesion(
            str(row["TULNKID"]),
            _site(row),
            NewLesionCertainty.EQUIVOCAL
            if row.get("TRNEWEQ") == "EQUIVOCAL"
            else NewLesionCertainty.UNEQUIVOCAL,
            _date(row.get("TRDAT")),
        )
        for row in _rows(data, "NEW")
    ]
    return Assessment(
        assessment_id,
        date,
        targets=tuple(targets),
        non_targets=tuple(non_targets),
        new_lesions=tuple(new_lesions),
        splits=splits,
        coalescences=coalescences,
    )


def _lesion_issue(item: str, code: str, message: str, row: int) -> Issue:
    return Issue(item, code, message, group=LESIONS, row=row)


def check_lesions(
    data: Mapping[str, Any], baseline_data: Mapping[str, Any] | None, *, follow_up: bool
) -> list[Issue]:
    """Errors about the lesion list that one form shows on its own (ids, baseline links)."""
    issues: list[Issue] = []
    seen: set[str] = set()
    rows = data.get(LESIONS, [])
    for index, row in enumerate(rows, start=1):
        lid = str(row.get("TULNKID"))
        if lid in seen:
            issues.append(
                _lesion_issue("TULNKID", "duplicate_lesion", f"lesion {lid} is listed twice", index)
            )
        seen.add(lid)
        if not follow_up and row.get("TUCLASS") == "NEW":
            issues.append(
                _lesion_issue(
                    "TUCLASS", "baseline_new_lesion", "a baseline has no new lesions", index
                )
            )
    if not follow_up:
        return issues
    if baseline_data is None:
        return issues + [
            Issue(
                "TUDAT",
                "no_baseline",
                "there is no baseline tumour assessment dated before this one: record the "
                "baseline first",
            )
        ]
    known = {
        kind: {str(r["TULNKID"]) for r in _rows(baseline_data, kind)}
        for kind in ("TARGET", "NON_TARGET")
    }
    issues += _split_and_merge_issues(rows, known["TARGET"])
    for index, row in enumerate(rows, start=1):
        kind = row.get("TUCLASS")
        lid = str(row.get("TULNKID"))
        if kind == "TARGET" and _fragment_of(row):
            continue  # a fragment has an id of its own; its parent is checked above
        if kind in known and lid not in known[kind]:
            label = "target" if kind == "TARGET" else "non-target"
            listed = ", ".join(sorted(known[kind])) or "none"
            issues.append(
                _lesion_issue(
                    "TULNKID",
                    f"unknown_{kind.lower()}",
                    f"{lid} is not a {label} lesion of the baseline ({listed}); a lesion not seen "
                    "at baseline is recorded as NEW",
                    index,
                )
            )
    return issues


def _split_and_merge_issues(rows: list[Mapping[str, Any]], targets: set[str]) -> list[Issue]:
    """A fragment names the baseline target it split from (not listed itself); a coalesced
    target names another listed target that carries the mass, and records 0 mm itself."""
    issues: list[Issue] = []
    listed = {
        str(r.get("TULNKID")): r
        for r in rows
        if r.get("TUCLASS") == "TARGET" and not _fragment_of(r)
    }
    parents = {_fragment_of(r) for r in rows if r.get("TUCLASS") == "TARGET" and _fragment_of(r)}
    partners = {str(r.get("TULNKID")) for r in rows if _coalesced_into(r)}
    for index, row in enumerate(rows, start=1):
        lid = str(row.get("TULNKID"))
        parent, into = _fragment_of(row), _coalesced_into(row)
        if (parent or into) and row.get("TUCLASS") != "TARGET":
            item = "TRSPLIT" if parent else "TRCOAL"
            issues.append(
                _lesion_issue(
                    item, "not_a_target", f"{lid}: only target lesions split or coalesce", index
                )
            )
            continue
        if parent and into:
            issues.append(
                _lesion_issue(
                    "TRCOAL",
                    "split_and_coalesced",
                    f"{lid}: a row is either a fragment of a split lesion or a coalesced lesion",
                    index,
                )
            )
        elif parent:
            if parent not in targets:
                issues.append(
                    _lesion_issue(
                        "TRSPLIT",
                        "split_of_unknown",
                        f"{lid} is a fragment of {parent}, which is not a baseline target "
                        f"({', '.join(sorted(targets)) or 'none'})",
                        index,
                    )
                )
            elif parent in listed:
                issues.append(
                    _lesion_issue(
                        "TRSPLIT",
                        "split_listed",
                        f"{parent} split into fragments: record only its fragments, not "
                        f"{parent} itself",
                        index,
                    )
                )
            if lid in targets:
                issues.append(
                    _lesion_issue(
                        "TULNKID",
                        "fragment_id",
                        f"fragment {lid} needs an id of its own (not a baseline lesion id)",
                        index,
                    )
                )
            if _size(row) is None:
                issues.append(
                    _lesion_issue(
                        "TRLD", "fragment_size", f"fragment {lid} needs its diameter", index
                    )
                )
        elif into:
            if into == lid or into not in listed or into in partners or into in parents:
                issues.append(
                    _lesion_issue(
                        "TRCOAL",
                        "coalesced_into_unknown",
                        f"{lid} coalesced into {into}: name another target lesion listed on "
                        "this form that carries the measurement of the mass",
                        index,
                    )
                )
            if _size(row) not in (None, 0):
                issues.append(
                    _lesion_issue(
                        "TRLD",
                        "coalesced_size",
                        f"{lid} coalesced into {into}: record the mass on {into} and 0 mm here",
                        index,
                    )
                )
    return issues


def baseline_issues(data: Mapping[str, Any], params: RecistParameters) -> list[Issue]:
    """RECIST target-selection rules (§2.2) on a baseline form."""
    from crf.rules.recist import validate_baseline

    if assessment_date(data) is None:
        return []
    rows = data.get(LESIONS, [])
    issues = []
    for violation in validate_baseline(baseline_from(data), params):
        row = next(
            (i for i, r in enumerate(rows, start=1) if str(r.get("TULNKID")) == violation.subject),
            None,
        )
        issues.append(
            Issue(
                "TULNKID" if row else "TUDAT",
                f"recist_{violation.code}",
                phrase(gettext_noop("RECIST: {problem}"), problem=violation.message),
                group=LESIONS if row else None,
                row=row,
            )
        )
    return issues


@dataclass(frozen=True)
class TumourForm:
    key: Any  # the caller's id of the form instance
    follow_up: bool
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Computed:
    """The calculated response of one follow-up form and how it was derived."""

    response: str
    note: dict[str, Any]


def baseline_for(forms: Sequence[TumourForm], follow_up: TumourForm) -> TumourForm | None:
    when = assessment_date(follow_up.data)
    earlier = [
        f
        for f in forms
        if not f.follow_up
        and (d := assessment_date(f.data)) is not None
        and (when is None or d < when)
    ]
    return max(earlier, key=lambda f: assessment_date(f.data)) if earlier else None


def evaluate_follow_ups(
    forms: Sequence[TumourForm], params: RecistParameters, reference_date: dt.date | None
) -> dict[Any, Computed]:
    """The calculated response of every follow-up form, by key, episode by episode.

    The reference date (randomization or first dose) scopes the best overall response; before it
    is known the baseline date is used, so responses show from the first follow-up on."""
    follow_ups = [f for f in forms if f.follow_up and assessment_date(f.data) is not None]
    by_baseline: dict[Any, list[TumourForm]] = {}
    baselines: dict[Any, TumourForm] = {}
    for form in follow_ups:
        base = baseline_for(forms, form)
        if base is not None:
            by_baseline.setdefault(base.key, []).append(form)
            baselines[base.key] = base
    computed: dict[Any, Computed] = {}
    for base_key, members in by_baseline.items():
        baseline = baseline_from(baselines[base_key].data)
        reference = (
            reference_date if reference_date and reference_date >= baseline.scan_date else None
        )
        series = evaluate_series(
            baseline,
            [assessment_from(str(f.key), f.data) for f in members],
            params,
            reference_date=reference or baseline.scan_date,
        )
        keys = {str(f.key): f.key for f in members}
        for result in series.timepoints:
            progression = classify_progression(result.progression_sites)
            computed[keys[result.assessment_id]] = Computed(
                RESPONSE_CODES[result.overall],
                {
                    "baseline_date": baseline.scan_date.isoformat(),
                    "baseline_sum": format_mm(baseline.sum_tenths)
                    if baseline.sum_tenths is not None
                    else None,
                    "target": str(result.target),
                    "non_target": str(result.non_target),
                    "new_lesions": str(result.new_lesions),
                    "overall": str(result.overall),
                    "sum": format_mm(result.sum_tenths) if result.sum_tenths is not None else None,
                    "nadir": format_mm(result.nadir_tenths)
                    if result.nadir_tenths is not None
                    else None,
                    "pd_date": result.pd_date.isoformat() if result.pd_date else None,
                    "progression_class": str(progression) if progression else None,
                    "flags": sorted(str(flag) for flag in result.flags),
                    "derivation": list(result.derivation),
                    # The same lines as phrases, so the page can show them in its reader's language.
                    "derivation_phrases": [to_json(line) for line in result.derivation],
                    "lesion_changes": [str(note) for note in result.lesion_notes],
                    "best_overall_response": str(series.bor),
                    "bor_derivation": list(series.bor_derivation),
                    "bor_derivation_phrases": [to_json(line) for line in series.bor_derivation],
                    "bor_flags": sorted(str(flag) for flag in series.bor_flags),
                },
            )
    return computed


def progression_site_issue(values: Mapping[str, Any], computed: Computed | None) -> Issue | None:
    """The investigator confirms the site of progression; a mismatch with the derivation is a
    warning (and so a query) because target-driven PD can be ambiguous (§2.9)."""
    stated = values.get("RSPDSITE")
    derived = computed.note.get("progression_class") if computed else None
    if not stated or not derived or stated == "NOT_APPLICABLE":
        return None
    if stated.lower() != derived:
        return Issue(
            "RSPDSITE",
            "progression_site",
            f"the site of progression given ({stated}) differs from the one derived from the "
            f"lesions ({derived.upper()})",
            Severity.WARNING,
        )
    return None


def baseline_display(data: Mapping[str, Any]) -> dict[str, Any]:
    base = baseline_from(data)
    lines = [
        phrase(
            gettext_noop(
                "Baseline {date}: {targets} target and {non_targets} non-target lesion(s)"
            ),
            date=base.scan_date.isoformat(),
            targets=str(len(base.targets)),
            non_targets=str(len(base.non_targets)),
        )
    ]
    if base.sum_tenths is not None:
        lines.append(
            phrase(
                gettext_noop("Baseline sum of diameters = {terms} = {sum}"),
                terms=" + ".join(format_mm(t.size_tenths or 0) for t in base.targets),
                sum=format_mm(base.sum_tenths),
            )
        )
    return {
        "baseline_sum": format_mm(base.sum_tenths) if base.sum_tenths is not None else None,
        "derivation": lines,
        "derivation_phrases": [to_json(line) for line in lines],
    }


# ---- helping the follow-up form ------------------------------------------------------------

INVESTIGATOR = "RSORRES"
OVERRIDE_REASON = "RSOVRSN"
# What a lesion is, as opposed to what it measures today: carried from the baseline.
LESION_IDENTITY = ("TULNKID", "TUCLASS", "TUSITE", "TULOC", "TUNODE")
# The technique, to be kept the same throughout (§2.1): carried from the baseline.
TECHNIQUE = ("TUMETH", "TUSLICE")


def carried_forward(baseline_data: Mapping[str, Any], follow_up: Mapping[str, Any]) -> dict:
    """The values a new follow-up form starts with: the baseline's lesions (identity only, no
    measurement) and its imaging technique, limited to the items the follow-up form has."""
    top = {i["code"] for i in follow_up.get("items", [])}
    group = next((g for g in follow_up.get("groups", []) if g["code"] == LESIONS), None)
    values: dict[str, Any] = {
        code: baseline_data[code]
        for code in TECHNIQUE
        if code in top and baseline_data.get(code) not in (None, "", [])
    }
    if group is not None:
        columns = {i["code"] for i in group["items"]}
        rows = [
            {code: row[code] for code in LESION_IDENTITY if code in columns and code in row}
            for row in baseline_data.get(LESIONS, [])
            if row.get("TUCLASS") in ("TARGET", "NON_TARGET")
        ]
        if rows:
            values[LESIONS] = rows
    return values


def override_issues(
    form: Mapping[str, Any], values: Mapping[str, Any], calculated: str
) -> list[Issue]:
    """An investigator's response that differs from the calculated one stands only with a
    reason (an error until given) and a confirmation (a warning, which opens a query for data
    management when confirmed)."""
    stated = values.get(INVESTIGATOR)
    if not stated or stated == calculated:
        return []
    has_reason_item = any(i["code"] == OVERRIDE_REASON for i in form.get("items", []))
    issues = [
        Issue(
            INVESTIGATOR,
            "response_override",
            f"the investigator response {stated} differs from the calculated response "
            f"{calculated}; confirm it is intended",
            Severity.WARNING,
        )
    ]
    if values.get("RSCONF") == "Y":
        issues.append(
            Issue(
                "RSCONF",
                "response_conflict",
                f"the calculated response {calculated} is confirmed, but the investigator "
                f"response is {stated}: answer No, or choose {calculated}",
            )
        )
    if not values.get(OVERRIDE_REASON):
        issues.append(
            Issue(
                OVERRIDE_REASON if has_reason_item else INVESTIGATOR,
                "response_override_reason_required",
                f"the investigator response {stated} differs from the calculated response "
                f"{calculated}: give the reason for the difference",
            )
        )
    return issues
