"""Derived items and kind-specific checks of a form being saved, with the reads they need.

The rules themselves are pure modules (staging_form, recist_form, ae_form, derived_items); this
module gathers their inputs from the subject's other forms and the CTCAE table in as few queries
as it can: one for the subject's other forms when a rule needs them, one for a CTCAE term.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

from crf import ae_form, derived_items, recist_form, staging_form
from crf.models import CtcaeTerm
from crf.rules import dosing, units
from crf.rules.ctcae import suggest_grade
from crf.rules.recist import RecistParameters
from crf.study_forms import StudyForms
from crf.subject_record import StoredForm, first_date
from crf.validation import Issue, Severity
from edc.phrases import to_json

is_serious = ae_form.is_serious

SIMPLE_DERIVATIONS: dict[str, Callable[[Mapping[str, Any]], derived_items.Derivation]] = {
    "QTCF": derived_items.qtc_fridericia,
    "EBVUND": derived_items.ebv_undetectable,
}


STAGING_EXTENT_WARNING = "staging_V7"
# Derived items this module computes; other derived items are written by their own feature
# (e.g. randomization's RNDDAT, RNDNO, RNDARM) and are kept as they are when a user saves.
COMPUTED = frozenset(
    {"STAGE", "RSCALC", "INDORES", "AERTPH", "RTINTVL", "BSA", *SIMPLE_DERIVATIONS}
)


@dataclass
class Derived:
    """Derived item values (stored in the form's data), notes on how each was obtained (stored
    in FormInstance.derived), and the issues the kind-specific rules found."""

    items: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def add(self, issues: list[Issue]) -> None:
        for issue in issues:
            (self.errors if issue.severity is Severity.ERROR else self.warnings).append(issue)


def derived_codes(form: Mapping[str, Any]) -> set[str]:
    return {i["code"] for i in form.get("items", []) if i.get("derived")}


def needed_forms(form: Mapping[str, Any], forms: StudyForms) -> set[str]:
    """Codes of the subject's other forms the derivations of `form` read."""
    codes = derived_codes(form)
    kind = form.get("kind", "standard")
    needed: set[str] = set()
    if kind == "tumour_assessment" or "INDORES" in codes:
        needed |= {f["code"] for f in forms.forms_of_kind("tumour_assessment")}
    if kind == "tumour_assessment":
        needed |= _codes_with_derived(forms, "INDORES")
    if kind == "adverse_event":
        needed |= _codes_with_items(forms, {"RTSTDAT"}) | _lab_form_codes(forms)
    if "RTINTVL" in codes:
        needed |= _codes_with_items(forms, {"RADENDAT"})
    if dose_items(form):
        needed |= _codes_with_items(forms, {"WEIGHT"}) | _codes_with_items(forms, {"HEIGHT"})
        if crcl := forms.definition.get("dosing", {}).get("crcl_item"):
            needed |= _codes_with_items(forms, {crcl})
    return needed


def _codes_with_derived(forms: StudyForms, item: str) -> set[str]:
    return {code for code, f in forms.forms.items() if item in derived_codes(f)}


def _codes_with_items(forms: StudyForms, items: set[str]) -> set[str]:
    return {
        code for code, f in forms.forms.items() if items & {i["code"] for i in f.get("items", [])}
    }


def _lab_form_codes(forms: StudyForms) -> set[str]:
    lab_items = {c for codes in ae_form.LAB_ITEM_CODES.values() for c in codes}
    return {
        code
        for code, f in forms.forms.items()
        if any(
            i["code"] in lab_items and ("uln_item" in i or "lln_item" in i)
            for i in f.get("items", [])
        )
    }


def derive(
    form: Mapping[str, Any],
    forms: StudyForms,
    values: Mapping[str, Any],
    others: list[StoredForm],
    *,
    reference_date: dt.date | None,
) -> Derived:
    derived = Derived()
    codes = derived_codes(form)
    kind = form.get("kind", "standard")
    for code, rule in SIMPLE_DERIVATIONS.items():
        if code in codes and (result := rule(values)) is not None:
            derived.items[code], derived.notes[code] = result
    if (
        "BSA" in codes
        and (result := derived_items.bsa(body_size(form, values), bsa_formula(forms))) is not None
    ):
        derived.items["BSA"], derived.notes["BSA"] = result
    if dose_items(form):
        _derive_doses(form, forms, values, others, derived)
    if kind == "staging" and "STAGE" in codes:
        outcome = staging_form.derive_staging(values)
        derived.items.update(outcome.items)
        derived.notes.update(outcome.notes)
        # A study file that states its own staging checks keeps them; the engine then adds
        # only what they do not say (the N3 documentation warning).
        own_checks = bool(form.get("edit_checks"))
        derived.add(
            [i for i in outcome.issues if not own_checks or i.code == STAGING_EXTENT_WARNING]
        )
    if kind == "tumour_assessment":
        _derive_tumour(form, forms, values, others, reference_date, derived)
    if "INDORES" in codes:
        _derive_induction_response(forms, values, others, reference_date, derived)
    if kind == "adverse_event":
        _derive_adverse_event(form, forms, values, others, derived)
    if "RTINTVL" in codes:
        _derive_rt_interval(values, others, derived)
    derived.notes.update(lab_grade_notes(form, values, forms.definition.get("analytes", {})))
    return derived


# ---- BSA and dose -------------------------------------------------------------------------


# The units the BSA and dose formulas work in; an item declared in another unit is converted.
BODY_SIZE_UNITS = {"HEIGHT": "cm", "WEIGHT": "kg"}


def _in_formula_unit(
    item: Mapping[str, Any] | None, code: str, value: Any, wanted: str | None = None
) -> Decimal | None:
    if value in (None, ""):
        return None
    number = Decimal(str(value))
    unit = (item or {}).get("unit")
    return units.convert(number, unit, wanted or BODY_SIZE_UNITS[code]) if unit else number


def body_size(form: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with HEIGHT in cm and WEIGHT in kg, whatever units the form declares."""
    items = {i["code"]: i for i in form.get("items", [])}
    converted = dict(values)
    for code in BODY_SIZE_UNITS:
        number = _in_formula_unit(items.get(code), code, values.get(code))
        if number is not None:
            converted[code] = units.stored_text(number, 4)
    return converted


def bsa_formula(forms: StudyForms) -> dosing.BsaFormula:
    return dosing.BsaFormula(forms.definition.get("dosing", {}).get("bsa_formula", "mosteller"))


def dose_items(form: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [i for i in form.get("items", []) if "planned_dose" in i]


def dose_spec(
    item: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[Mapping[str, Any] | None, str | None]:
    """(the protocol's dose for this item, the agent it was chosen by). An item dosed by agent
    (`by_agent`: platinum as cisplatin mg/m² or carboplatin AUC) takes the dose of the agent
    chosen on the form; an agent the protocol gives no dose for has none (None, agent)."""
    spec = item["planned_dose"]
    by_agent = spec.get("by_agent")
    if not by_agent:
        return spec, None
    agent = values.get(by_agent["item"])
    if agent in (None, ""):
        return None, None
    chosen = by_agent["doses"].get(str(agent))
    return ({**chosen, "reason_item": spec.get("reason_item")} if chosen else None), str(agent)


def _latest_before(
    forms: StudyForms, others: list[StoredForm], code: str, day: dt.date, unit: str | None = None
) -> tuple[Decimal, dt.date] | None:
    """The latest recorded value of item `code` sampled on or before `day` (in the formula's
    unit), with its date."""
    found = []
    for other in others:
        form = forms.forms.get(other.form_code, {})
        when = first_date(form, other.data)
        if other.data.get(code) not in (None, "") and when is not None and when <= day:
            item = next((i for i in form.get("items", []) if i["code"] == code), None)
            found.append((when, _in_formula_unit(item, code, other.data[code], unit)))
    if not found:
        return None
    when, value = max(found, key=lambda pair: pair[0])
    return value, when


def _derive_doses(
    form: Mapping[str, Any],
    forms: StudyForms,
    values: Mapping[str, Any],
    others: list[StoredForm],
    derived: Derived,
) -> None:
    """The planned dose of every dose item from the protocol's mg/m² or mg/kg (the latest weight
    and height on or before the dose date, the study's BSA formula and cap) or, for carboplatin,
    its target AUC (Calvert, with the study's creatinine clearance item, capped); a given dose
    further from it than the study's tolerance is a warning that asks for (or shows) the reason."""
    day = first_date(form, values)
    if day is None:
        return
    settings = forms.definition.get("dosing", {})
    tolerance = Decimal(str(settings.get("dose_tolerance_percent", 10)))
    labels = {i["code"]: i for i in form.get("items", [])}
    for item in dose_items(form):
        spec, agent = dose_spec(item, values)
        if spec is None:
            if agent is not None:
                derived.notes[item["code"]] = gettext(
                    "No planned dose for %(agent)s: the protocol names no dose for it"
                ) % {"agent": agent}
            continue
        per = dosing.DosePer(spec["per"])
        amount = Decimal(str(spec["amount"]))
        if per is dosing.DosePer.AUC:
            computed = _calvert_dose(amount, forms, others, day)
        else:
            computed = _body_size_dose(amount, per, forms, others, day)
        if isinstance(computed, str):
            derived.notes[item["code"]] = computed
            continue
        planned, lines = computed
        note: dict[str, Any] = {"planned_mg": str(planned.mg), "derivation": lines}
        given_raw = values.get(item["code"])
        if given_raw not in (None, ""):
            given = units.convert(Decimal(str(given_raw)), item.get("unit") or "mg", "mg")
            change = dosing.deviation_percent(given, planned.mg)
            note["deviation_percent"] = str(change)
            if dosing.exceeds_tolerance(given, planned.mg, tolerance):
                reason_item = spec.get("reason_item")
                reason = values.get(reason_item) if reason_item else None
                message = gettext(
                    "%(label)s: the given dose %(given)s mg differs from the planned %(planned)s mg "
                    "by %(change)s%%, more than the study's tolerance of %(tolerance)s%%"
                ) % {
                    "label": labels[item["code"]]["label"],
                    "given": units.stored_text(given),
                    "planned": planned.mg,
                    "change": f"{'+' if change > 0 else ''}{change}",
                    "tolerance": tolerance,
                }
                if reason:
                    message += "; " + gettext("reason given: %(reason)s") % {"reason": reason}
                elif reason_item:
                    message += "; " + gettext("give the reason in %(item)s") % {
                        "item": labels.get(reason_item, {}).get("label", reason_item)
                    }
                derived.add([Issue(item["code"], "dose_deviation", message, Severity.WARNING)])
        derived.notes[item["code"]] = note


def _body_size_dose(
    amount: Decimal,
    per: dosing.DosePer,
    forms: StudyForms,
    others: list[StoredForm],
    day: dt.date,
) -> tuple[dosing.PlannedDose, list[str]] | str:
    """mg/m² × BSA or mg/kg × weight with the lines that say how, or why it cannot be computed."""
    settings = forms.definition.get("dosing", {})
    formula = bsa_formula(forms)
    cap = settings.get("bsa_cap_m2")
    weight = _latest_before(forms, others, "WEIGHT", day)
    height = _latest_before(forms, others, "HEIGHT", day)
    if weight is None or (per is dosing.DosePer.M2 and height is None):
        return gettext(
            "Planned dose not computed: no weight and height recorded on or before %(day)s"
        ) % {"day": day.isoformat()}
    lines = []
    bsa_m2 = None
    if per is dosing.DosePer.M2 and height is not None:
        bsa_m2 = dosing.bsa(height[0], weight[0], formula)
        lines.append(
            gettext(
                "BSA %(formula)s from height %(height)s cm (%(height_date)s) and weight "
                "%(weight)s kg (%(weight_date)s): %(text)s = %(bsa)s m²"
            )
            % {
                "formula": formula.value.capitalize(),
                "height": height[0],
                "height_date": height[1].isoformat(),
                "weight": weight[0],
                "weight_date": weight[1].isoformat(),
                "text": dosing.formula_text(height[0], weight[0], formula),
                "bsa": bsa_m2,
            }
        )
    planned = dosing.planned_dose(
        amount,
        per,
        bsa_m2=bsa_m2,
        weight_kg=weight[0],
        bsa_cap_m2=Decimal(str(cap)) if cap is not None else None,
    )
    if planned.bsa_uncapped is not None:
        lines.append(
            gettext("BSA %(bsa)s m² capped at the study's %(cap)s m²")
            % {"bsa": planned.bsa_uncapped, "cap": planned.basis}
        )
    per_text = "m²" if per is dosing.DosePer.M2 else "kg"
    lines.append(
        gettext("Planned dose %(amount)s mg/%(per)s × %(basis)s %(unit)s = %(mg)s mg")
        % {
            "amount": amount,
            "per": per_text,
            "basis": planned.basis,
            "unit": per_text,
            "mg": planned.mg,
        }
    )
    return planned, lines


def _calvert_dose(
    auc: Decimal, forms: StudyForms, others: list[StoredForm], day: dt.date
) -> tuple[dosing.PlannedDose, list[str]] | str:
    """Carboplatin by Calvert from the study's creatinine clearance item (the latest on or
    before the dose date, in mL/min), with the lines that say how, or why it cannot be computed."""
    settings = forms.definition.get("dosing", {})
    code = settings.get("crcl_item")
    cap = Decimal(str(settings.get("crcl_cap_ml_min", dosing.DEFAULT_CRCL_CAP_ML_MIN)))
    crcl = _latest_before(forms, others, code, day, "mL/min") if code else None
    if crcl is None:
        return gettext(
            "Planned dose not computed: no creatinine clearance recorded on or before %(day)s"
        ) % {"day": day.isoformat()}
    planned = dosing.calvert_dose(auc, crcl[0], crcl_cap_ml_min=cap)
    lines = [
        gettext("Creatinine clearance %(crcl)s mL/min (%(date)s)")
        % {"crcl": crcl[0], "date": crcl[1].isoformat()}
    ]
    if planned.crcl_uncapped is not None:
        lines.append(
            gettext("CrCl %(crcl)s mL/min capped at %(cap)s mL/min")
            % {"crcl": planned.crcl_uncapped, "cap": planned.basis}
        )
    lines.append(
        gettext("Planned dose (Calvert) AUC %(auc)s × (%(crcl)s + 25) = %(mg)s mg")
        % {"auc": auc, "crcl": planned.basis, "mg": planned.mg}
    )
    return planned, lines


# ---- RECIST ------------------------------------------------------------------------------


def recist_parameters(forms: StudyForms) -> RecistParameters:
    settings = forms.definition.get("recist", {})
    defaults = RecistParameters()
    return RecistParameters(
        confirmation_required=settings.get("confirmation_required", defaults.confirmation_required),
        confirm_min_days=settings.get("confirm_min_days", defaults.confirm_min_days),
        sd_min_days=settings.get("sd_min_days", defaults.sd_min_days),
        sd_tolerance_days=settings.get("sd_tolerance_days", defaults.sd_tolerance_days),
    )


THIS_FORM = "this form"


def tumour_forms(
    forms: StudyForms, others: list[StoredForm], current: tuple[Mapping, Mapping] | None
) -> list[recist_form.TumourForm]:
    """The subject's tumour assessments, with the form being saved (its unsaved values) included."""
    result = [
        recist_form.TumourForm(
            o.pk, recist_form.is_follow_up_form(forms.forms[o.form_code]), o.data
        )
        for o in others
        if forms.forms.get(o.form_code, {}).get("kind") == "tumour_assessment"
    ]
    if current is not None:
        form, values = current
        result.append(
            recist_form.TumourForm(THIS_FORM, recist_form.is_follow_up_form(form), values)
        )
    return result


def _derive_tumour(
    form: Mapping[str, Any],
    forms: StudyForms,
    values: Mapping[str, Any],
    others: list[StoredForm],
    reference_date: dt.date | None,
    derived: Derived,
) -> None:
    params = recist_parameters(forms)
    follow_up = recist_form.is_follow_up_form(form)
    series = tumour_forms(forms, others, (form, values))
    this = series[-1]
    baseline = recist_form.baseline_for(series, this) if follow_up else None
    derived.add(
        recist_form.check_lesions(values, baseline.data if baseline else None, follow_up=follow_up)
    )
    if derived.errors or recist_form.assessment_date(values) is None:
        return
    if not follow_up:
        derived.add(recist_form.baseline_issues(values, params))
        if not derived.errors:
            derived.notes["recist"] = recist_form.baseline_display(values)
        return
    computed = recist_form.evaluate_follow_ups(series, params, reference_date).get(THIS_FORM)
    if computed is None:
        return
    derived.items[recist_form.CALCULATED] = computed.response
    derived.notes["recist"] = computed.note
    if (issue := recist_form.progression_site_issue(values, computed)) is not None:
        derived.add([issue])
    derived.add(recist_form.override_issues(form, values, computed.response))


def _derive_induction_response(
    forms: StudyForms,
    values: Mapping[str, Any],
    others: list[StoredForm],
    reference_date: dt.date | None,
    derived: Derived,
) -> None:
    """INDORES: the calculated response of the latest follow-up assessment on or before the
    post-induction assessment date."""
    when = values.get("INDRSDAT")
    if not when:
        return
    series = tumour_forms(forms, others, None)
    computed = recist_form.evaluate_follow_ups(series, recist_parameters(forms), reference_date)
    candidates = [
        f
        for f in series
        if f.key in computed
        and (d := recist_form.assessment_date(f.data))
        and d <= dt.date.fromisoformat(when)
    ]
    if not candidates:
        return
    chosen = max(candidates, key=lambda f: recist_form.assessment_date(f.data))
    result = computed[chosen.key]
    derived.items["INDORES"] = result.response
    derived.notes["INDORES"] = (
        f"Calculated response of the tumour assessment of {chosen.data['TUDAT']}: {result.response}"
    )


def dependent_derivations(
    forms: StudyForms, stored: list[StoredForm], reference_date: dt.date | None
) -> dict[int, Derived]:
    """After a tumour assessment was saved: the derived items and notes of the subject's forms
    that depend on it (RSCALC of every follow-up, INDORES of the post-induction response), by pk.

    `stored` holds the saved form with its new data."""
    series = tumour_forms(forms, stored, None)
    computed = recist_form.evaluate_follow_ups(series, recist_parameters(forms), reference_date)
    result: dict[int, Derived] = {}
    for s in stored:
        form = forms.forms.get(s.form_code, {})
        if s.pk in computed:
            result[s.pk] = Derived(
                items={recist_form.CALCULATED: computed[s.pk].response},
                notes={"recist": computed[s.pk].note},
            )
        elif (
            form.get("kind") == "tumour_assessment"
            and not recist_form.is_follow_up_form(form)
            and recist_form.assessment_date(s.data) is not None
        ):
            result[s.pk] = Derived(notes={"recist": recist_form.baseline_display(s.data)})
        if "INDORES" in derived_codes(form):
            derived = Derived()
            _derive_induction_response(forms, s.data, stored, reference_date, derived)
            result[s.pk] = derived
    return result


# ---- adverse events and labs -------------------------------------------------------------


def ctcae_term(code: Any) -> ae_form.TermInfo | None:
    # A MedDRA code is digits; anything else (even a NUL PostgreSQL cannot take) names no term.
    if not isinstance(code, str | int) or not str(code).isdigit():
        return None
    row = CtcaeTerm.objects.filter(meddra_code=str(code)).order_by("-version").first()
    if row is None:
        return None
    return ae_form.TermInfo(row.meddra_code, row.term, tuple(row.grades), row.is_other_specify)


def lab_values(
    forms: StudyForms, others: list[StoredForm], term: ae_form.TermInfo
) -> list[ae_form.LabValue]:
    """Every recorded value of the lab test behind a lab-graded CTCAE term, oldest first."""
    lab_term = ae_form.LAB_TERM_BY_MEDDRA[term.meddra_code]
    analytes = forms.definition.get("analytes", {})
    found = []
    for other in others:
        form = forms.forms.get(other.form_code, {})
        items = {i["code"]: i for i in form.get("items", [])}
        for item in form.get("items", []):
            if item["code"] in ae_form.LAB_ITEM_CODES[lab_term] and other.data.get(item["code"]):
                value = ae_form.graded_value(lab_term, item, items, other.data, analytes)
                if value is not None:
                    found.append(replace(value, sampled_on=first_date(form, other.data)))
    found.sort(key=lambda v: v.sampled_on or dt.date.min)
    return found


def _derive_adverse_event(
    form: Mapping[str, Any],
    forms: StudyForms,
    values: Mapping[str, Any],
    others: list[StoredForm],
    derived: Derived,
) -> None:
    term = ctcae_term(values.get("AECTCD"))
    derived.add(ae_form.check_term_and_grade(values, term))
    if term is not None and term.meddra_code in ae_form.LAB_TERM_BY_MEDDRA:
        found = lab_values(forms, others, term)
        suggestion = ae_form.lab_grade(
            term, found[-1] if found else None, found[0] if found else None
        )
        if suggestion is not None:
            derived.notes["grade_suggestion"] = {
                "grade": suggestion.grade,
                "reason": str(suggestion.reason),
                # The same reason as a phrase, so the page shows it in its reader's language.
                "reason_phrase": to_json(suggestion.reason),
                "sampled_on": found[-1].sampled_on.isoformat() if found[-1].sampled_on else None,
            }
            if (
                issue := ae_form.grade_suggestion_issue(values.get("AETOXGR"), suggestion)
            ) is not None:
                derived.add([issue])
    if "AERTPH" in derived_codes(form):
        starts = [dt.date.fromisoformat(o.data["RTSTDAT"]) for o in others if o.data.get("RTSTDAT")]
        phase = ae_form.radiation_phase(values.get("AESTDAT"), starts)
        if phase is not None:
            derived.items["AERTPH"] = phase
            derived.notes["AERTPH"] = (
                "no radiotherapy started before onset"
                if phase == "NA"
                else f"onset {values['AESTDAT']} vs RT start {max(s for s in starts if s.isoformat() <= values['AESTDAT'])}: "
                f"{'≤' if phase == 'ACUTE' else '>'} {ae_form.ACUTE_MAX_DAYS} days ⇒ {phase.lower()}"
            )


def _derive_rt_interval(
    values: Mapping[str, Any], others: list[StoredForm], derived: Derived
) -> None:
    first_end = next((o.data["RADENDAT"] for o in others if o.data.get("RADENDAT")), None)
    start = values.get("RTSTDAT")
    if not first_end or not start or len(first_end) != 10:
        return
    months = derived_items.completed_months(
        dt.date.fromisoformat(first_end), dt.date.fromisoformat(start)
    )
    derived.items["RTINTVL"] = str(months)
    derived.notes["RTINTVL"] = f"{months} completed months from {first_end} to {start}"


def lab_grade_notes(
    form: Mapping[str, Any], values: Mapping[str, Any], analytes: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A suggested CTCAE grade beside each graded lab value of a lab form (§3.4), with the
    value and its limits in one unit."""
    by_code = {c: term for term, codes in ae_form.LAB_ITEM_CODES.items() for c in codes}
    items = {i["code"]: i for i in form.get("items", [])}
    grades = {}
    for item in form.get("items", []):
        term = by_code.get(item["code"])
        if term is None or not ("uln_item" in item or "lln_item" in item):
            continue
        graded = ae_form.graded_value(term, item, items, values, analytes or {})
        if graded is None:
            continue
        suggestion = suggest_grade(term, graded.value, graded.uln, graded.lln)
        grades[item["code"]] = {
            "grade": suggestion.grade,
            "reason": str(suggestion.reason),
            "reason_phrase": to_json(suggestion.reason),
        }
    return {"lab_grades": grades} if grades else {}
