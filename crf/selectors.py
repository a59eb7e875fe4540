"""Reads of CRF data. Callers pass a subject they obtained through their Scope."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.models import (
    Case,
    F,
    Func,
    IntegerField,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.http import Http404
from django.shortcuts import get_object_or_404

from crf import recist_form
from crf.casebook import Casebook, SavedForm, build_casebook
from crf.definitions import shown_forms, study_forms
from crf.models import (
    CtcaeTerm,
    EligibilityConfirmation,
    EligibilityWaiver,
    FormInstance,
    FormStatus,
)
from crf.rules import eligibility as eligibility_rules
from crf.rules.expressions import SubjectData
from crf.study_forms import StudyForms, UnknownSlot
from crf.subject_record import StoredForm, build_subject_data, first_dose_date, rule_references
from edc.audit.models import AuditEvent
from edc.datamanagement import selectors as datamanagement_selectors
from edc.datamanagement.content_hash import canonical_json
from edc.phrases import Phrase, gettext_noop, joined, phrase
from edc.subjects import selectors as subject_selectors
from edc.subjects.lifecycle import Status, end_of_study_form_reason
from edc.subjects.models import Consent, Subject

_STORED_FIELDS = ("pk", "form_code", "event_code", "event_repeat", "form_repeat", "data")


def get_subject(scope, study_code: str, subject_id: str) -> Subject:
    """A subject in the caller's sites (404 otherwise), with its study and site but without
    the protocol definitions: CRF pages read those from the per-version cache instead of
    decoding them from the database on every request."""
    queryset = subject_selectors.visible_subjects(scope).select_related("study", "site")
    return get_object_or_404(queryset, study__code=study_code, subject_id=subject_id)


def stored_forms(
    subject: Subject, form_codes: Iterable[str] | None = None, *, exclude_pk: int | None = None
) -> list[StoredForm]:
    """The subject's saved forms (all, or those of `form_codes`), as plain values. One query."""
    queryset = FormInstance.objects.filter(subject=subject).exclude(status=FormStatus.REMOVED)
    if form_codes is not None:
        codes = set(form_codes)
        if not codes:
            return []
        queryset = queryset.filter(form_code__in=codes)
    return [
        StoredForm(*row) for row in queryset.values_list(*_STORED_FIELDS) if row[0] != exclude_pk
    ]


def consent_date(subject: Subject) -> dt.date | None:
    return subject.consents.order_by("consent_date").values_list("consent_date", flat=True).first()


def rule_context(
    subject: Subject,
    forms: StudyForms,
    stored: Iterable[StoredForm],
    *,
    today: dt.date,
    intended: dict[str, dt.date] | None = None,
    needed: Iterable[str] | None = None,
) -> dict[str, dt.date]:
    """The subject dates rules read. `intended` supplies dates of events not yet recorded (e.g.
    today as the randomization date when checking eligibility before randomizing). With
    `needed`, the consent date is read (one query) only when a rule names it."""
    intended = intended or {}
    wants_consent = needed is None or "consent_date" in set(needed)
    return eligibility_rules.subject_context(
        forms.definition.get("enrolment_model", "enrol_after_induction"),
        consent_date=consent_date(subject) if wants_consent else None,
        registration_date=subject.registration_date or intended.get("registration_date"),
        randomization_date=subject.randomization_date or intended.get("randomization_date"),
        first_dose_date=first_dose_date(forms, stored) or intended.get("first_dose_date"),
        today=today,
    )


def subject_data(
    subject: Subject, *, today: dt.date, intended: dict[str, dt.date] | None = None
) -> tuple[StudyForms, SubjectData]:
    """Everything the eligibility rules read about a subject: two queries."""
    forms = study_forms(subject.protocol_version_id)
    stored = stored_forms(subject)
    context = rule_context(subject, forms, stored, today=today, intended=intended)
    return forms, build_subject_data(forms, stored, context)


def arm_code(subject: Subject, forms: StudyForms) -> str | None:
    """The allocated arm as recorded on the randomization form (RNDARM), by code or name."""
    rand_codes = [f["code"] for f in forms.forms_of_kind("randomization")]
    value = (
        FormInstance.objects.filter(subject=subject, form_code__in=rand_codes)
        .values_list("data__RNDARM", flat=True)
        .first()
    )
    for arm in forms.definition.get("arms", []):
        if value in (arm["code"], arm["name"]):
            return arm["code"]
    return None


def casebook(subject: Subject, *, due: Iterable[tuple[str, int]] = ()) -> Casebook:
    """Visits with their forms and statuses, to-do first. Three queries."""
    forms = study_forms(subject.protocol_version_id)
    saved = [
        SavedForm(*row)
        for row in FormInstance.objects.filter(subject=subject).values_list(
            "pk", "event_code", "event_repeat", "form_code", "form_repeat", "status"
        )
    ]
    flags = datamanagement_selectors.form_flags(subject) if saved else {}
    shown = shown_forms(subject.protocol_version_id)
    return build_casebook(shown, saved, flags=flags, arm_code=arm_code(subject, forms), due=due)


@dataclass
class FormSlot:
    forms: StudyForms
    event: dict
    form: dict
    event_repeat: int
    form_repeat: int
    instance: FormInstance | None

    @property
    def kind(self) -> str:
        return self.form.get("kind", "standard")


def form_slot(
    subject: Subject,
    event_code: str,
    event_repeat: int,
    form_code: str,
    form_repeat: int,
    *,
    with_instance: bool = True,
) -> FormSlot:
    """The form at a slot of the subject's schedule; 404 when the protocol has no such slot.
    Without `with_instance` no query is made (a save reads the instance under its lock)."""
    instance = (
        FormInstance.objects.filter(
            subject=subject,
            event_code=event_code,
            event_repeat=event_repeat,
            form_code=form_code,
            form_repeat=form_repeat,
        )
        .exclude(status=FormStatus.REMOVED)
        .first()
        if with_instance
        else None
    )
    forms = study_forms(instance.protocol_version_id if instance else subject.protocol_version_id)
    try:
        event, form = forms.resolve(event_code, event_repeat, form_code, form_repeat)
    except UnknownSlot as exc:
        raise Http404(exc.message) from None
    return FormSlot(forms, event, form, event_repeat, form_repeat, instance)


@dataclass(frozen=True)
class StartingValues:
    """What a form not yet saved opens with, and where it came from (shown on the page)."""

    values: dict
    source: str = ""


def starting_values(subject: Subject, slot: FormSlot) -> StartingValues:
    """A new RECIST follow-up starts from the latest baseline's lesions and technique, so only
    the measurements are typed. A new End-of-study or survival form starts from the subject's
    own off-study and death record, which the status actions wrote: the fact is recorded once.
    Every other new form starts empty. One query for a follow-up, none for the others."""
    recorded = _subject_record_values(subject, slot.form)
    if recorded:
        return StartingValues(recorded)
    if slot.kind != "tumour_assessment" or not recist_form.is_follow_up_form(slot.form):
        return StartingValues({})
    baseline_codes = [
        f["code"]
        for f in slot.forms.forms_of_kind("tumour_assessment")
        if not recist_form.is_follow_up_form(f)
    ]
    baselines = [
        s
        for s in stored_forms(subject, baseline_codes)
        if recist_form.assessment_date(s.data) is not None
    ]
    if not baselines:
        return StartingValues({})
    latest = max(baselines, key=lambda s: recist_form.assessment_date(s.data))
    return StartingValues(recist_form.carried_forward(latest.data, slot.form), latest.data["TUDAT"])


def _subject_record_values(subject: Subject, form: dict) -> dict:
    """The items of ``form`` that the subject's record already answers: the off-study date and
    reason on an End-of-study form, the death on a survival form."""
    items = {item["code"] for item in form.get("items", [])}
    if form.get("kind") == "disposition" and subject.status == Status.OFF_STUDY:
        reason = end_of_study_form_reason(subject.off_study_reason)
        values = {"EOSDAT": subject.off_study_date.isoformat() if subject.off_study_date else None}
        values["EOSRSN"] = reason
        return {k: v for k, v in values.items() if k in items and v}
    if subject.death_date and {"SSSTAT", "DTHDAT"} <= items:
        return {"SSSTAT": "DEAD", "DTHDAT": subject.death_date.isoformat()}
    return {}


def response_overrides(scope, study) -> list[FormInstance]:
    """Follow-up tumour assessments whose investigator response (RSORRES) differs from the
    calculated one (RSCALC), newest first, in the caller's sites, each with `calculated`,
    `stated` and `reason` and the audit row that recorded the override (`override_event`).
    Two queries whatever the number of forms."""
    forms = list(
        scope.filter(FormInstance.objects.filter(study=study))
        .exclude(status=FormStatus.REMOVED)
        .filter(data__has_keys=[recist_form.CALCULATED, recist_form.INVESTIGATOR])
        .annotate(
            calculated=KT(f"data__{recist_form.CALCULATED}"),
            stated=KT(f"data__{recist_form.INVESTIGATOR}"),
            reason=KT(f"data__{recist_form.OVERRIDE_REASON}"),
        )
        .exclude(calculated=F("stated"))
        .select_related("subject", "site")
        .order_by("-updated_at", "-pk")
    )
    events: dict[str, AuditEvent] = {}
    for event in AuditEvent.objects.filter(
        object_type="crf.FormInstance",
        object_id__in=[str(f.pk) for f in forms],
        action="response_override",
    ).order_by("id"):
        events[event.object_id] = event  # the latest override of each form wins
    for f in forms:
        f.override_event = events.get(str(f.pk))
    return forms


def form_history(instance: FormInstance | None, limit: int = 100) -> list[AuditEvent]:
    if instance is None:
        return []
    return list(
        AuditEvent.objects.filter(
            object_type="crf.FormInstance", object_id=str(instance.pk)
        ).order_by("-id")[:limit]
    )


def ctcae_terms() -> list[CtcaeTerm]:
    return list(CtcaeTerm.objects.order_by("soc", "term"))


_PICKED_TERM = re.compile(r"\((\d{8})\)\s*$")
_MEDDRA_CODE = re.compile(r"^\d{8}$")


def ctcae_code_of(text: Any) -> str | None:
    """The MedDRA code a type-ahead entry names: "Anaemia (10002272)", "10002272" or the exact
    term in any case. None when it names no term (one query at most)."""
    if not isinstance(text, str) or not text.strip() or "\x00" in text:
        return None
    text = text.strip()
    if match := _PICKED_TERM.search(text):
        return match.group(1)
    if _MEDDRA_CODE.match(text):
        return text
    return (
        CtcaeTerm.objects.filter(term__iexact=text)
        .order_by("-version")
        .values_list("meddra_code", flat=True)
        .first()
    )


def ctcae_term_of(code: Any) -> CtcaeTerm | None:
    if not isinstance(code, str) or not _MEDDRA_CODE.match(code):
        return None
    return CtcaeTerm.objects.filter(meddra_code=code).order_by("-version").first()


def find_ctcae_terms(query: str, limit: int | None = None):
    """Terms whose name contains `query`, or whose MedDRA code starts with it: name matches
    that start with the query first."""
    query = query.strip()
    terms = CtcaeTerm.objects.all()
    if query:
        terms = terms.filter(Q(term__icontains=query) | Q(meddra_code__startswith=query))
        terms = terms.annotate(
            starts=Case(When(term__istartswith=query, then=0), default=1)
        ).order_by("starts", "term")
    else:
        terms = terms.order_by("soc", "term")
    return terms[:limit] if limit else terms


def next_form_repeat(subject: Subject, event_code: str, event_repeat: int, form_code: str) -> int:
    repeats = FormInstance.objects.filter(
        subject=subject, event_code=event_code, event_repeat=event_repeat, form_code=form_code
    ).values_list("form_repeat", flat=True)
    return max(repeats, default=0) + 1


# ---- eligibility -------------------------------------------------------------------------

ELIGIBILITY_POINTS = eligibility_rules.POINTS
_INTENDED_DATE = {
    "registration": "registration_date",
    "randomization": "randomization_date",
    "first_dose": "first_dose_date",
}


@dataclass
class CriterionLine:
    """One criterion's result as shown and as signed."""

    id: str
    kind: str
    text: str
    status: str
    reason: str
    evaluated_at: tuple[str, ...]
    waiver: EligibilityWaiver | None = None
    # The explanation as translatable phrases, for the page; `reason` (English) is what is signed.
    steps: tuple[Phrase, ...] = ()

    @property
    def satisfied(self) -> bool:
        return self.status in {s.value for s in eligibility_rules.SATISFIED}

    @property
    def status_label(self) -> str:
        return self.status.replace("_", " ")

    @property
    def cleared(self) -> bool:
        """Satisfied, or waived with sponsor approval."""
        return self.satisfied or self.waiver is not None

    def snapshot(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "waived": self.waiver.sponsor_approval_reference if self.waiver else None,
        }


@dataclass
class EligibilityState:
    subject: Subject
    point: str
    lines: list[CriterionLine]
    confirmation: EligibilityConfirmation | None
    as_of: dt.date
    # Versions of everything the evaluation read (see `_inputs`); signed with the results.
    inputs: dict | None = None

    @property
    def blocking(self) -> list[CriterionLine]:
        return [line for line in self.lines if not line.cleared]

    @property
    def snapshot(self) -> dict:
        snapshot = {
            "subject": self.subject.subject_id,
            "point": self.point,
            "criteria": [line.snapshot() for line in self.lines],
        }
        if self.inputs is not None:
            snapshot["inputs"] = self.inputs
        return snapshot

    @property
    def outcome_key(self) -> list[list]:
        """What a confirmation stays valid for: each criterion's status and waiver."""
        return [[c["id"], c["status"], c["waived"]] for c in self.snapshot["criteria"]]

    @property
    def confirmation_current(self) -> bool:
        c = self.confirmation
        if c is None or snapshot_sha256(c.results) != c.results_sha256:
            return False
        signed = [[x["id"], x["status"], x["waived"]] for x in c.results.get("criteria", [])]
        return signed == self.outcome_key

    @property
    def allowed(self) -> bool:
        return not self.blocking and self.confirmation_current

    def reasons(self) -> list[Phrase]:
        """What blocks the point. Phrases: as strings the English the API and records keep
        ("R-IN9 fail: ..."), on a page sentences in the reader's language."""
        found = [
            phrase(
                gettext_noop("{criterion} ({status}): {steps}"),
                "{criterion} {status}: {reason}",
                criterion=line.id,
                status=phrase(_STATUS_WORDS.get(line.status, line.status), line.status),
                steps=joined(line.steps) if line.steps else line.reason,
                reason=line.reason,
            )
            for line in self.blocking
        ]
        point = phrase(_POINT_WORDS[self.point], self.point)
        if not found and self.confirmation is None:
            found.append(
                phrase(
                    gettext_noop("no investigator has confirmed eligibility at {point}"),
                    point=point,
                )
            )
        elif not found and not self.confirmation_current:
            found.append(
                phrase(
                    gettext_noop(
                        "eligibility results at {point} changed since the investigator "
                        "confirmed them; they must be confirmed again"
                    ),
                    point=point,
                )
            )
        return found


_STATUS_WORDS = {
    "fail": gettext_noop("not met"),
    "missing": gettext_noop("data missing"),
    "attested_no": gettext_noop("investigator attested no"),
}
_POINT_WORDS = {
    "registration": gettext_noop("registration"),
    "randomization": gettext_noop("randomization"),
    "first_dose": gettext_noop("first dose"),
}


def snapshot_sha256(snapshot: dict) -> str:
    return hashlib.sha256(canonical_json(snapshot)).hexdigest()


@dataclass(frozen=True)
class EligibilityReads:
    """What the criteria due at a point read: forms (by code), and whether a result can change
    with the calendar day alone (a rule reads today or a date taken as today until recorded)."""

    form_codes: frozenset[str]
    by_day: bool


def _due_criteria(forms: StudyForms, point: str) -> list[dict]:
    # A register-before-induction study checks only first-dose criteria at the (induction)
    # first dose, which comes before randomization.
    only_here = (
        point == "first_dose"
        and forms.definition.get("enrolment_model") == "register_before_induction"
    )
    return [
        c
        for c in forms.definition.get("eligibility", [])
        if eligibility_rules.is_due(c, point, only_at_point=only_here)
    ]


@lru_cache(maxsize=256)
def eligibility_reads(protocol_version_id: int, point: str) -> EligibilityReads:
    """Per protocol version (which never changes once loaded) and point."""
    forms = study_forms(protocol_version_id)
    # Treatment forms give the first dose date, a context date of the rules.
    codes = {f["code"] for f in forms.forms_of_kind("treatment")}
    dates: set[str] = set()
    for criterion in _due_criteria(forms, point):
        if "rule" in criterion:
            found, context = rule_references(criterion["rule"])
            codes |= found
            dates |= context
        if "attestation" in criterion:
            codes.add(criterion["attestation"]["form"])
    # The consent date is a versioned row; every other context date may be today's.
    return EligibilityReads(frozenset(codes), bool(dates - {"consent_date"}))


def _inputs(
    subject: Subject,
    reads: EligibilityReads,
    today: dt.date,
    *,
    forms: int,
    consents: int,
    waivers: int,
) -> dict:
    """The versions of everything an evaluation read. Forms and consents move their row_version
    on every change and the database refuses to delete them (crf and subjects migrations), so
    the sum of their row versions rises whenever any of them changes or is added; waivers are
    only ever added, so their count does. Equal inputs give equal results without evaluating
    the rules again."""
    return {
        "protocol_version": subject.protocol_version_id,
        "subject_row_version": subject.row_version,
        "forms": forms,
        "consents": consents,
        "waivers": waivers,
        "day": today.isoformat() if reads.by_day else None,
    }


def eligibility_state(
    subject: Subject, point: str, *, today: dt.date | None = None
) -> EligibilityState:
    """The criteria due at `point` evaluated on the subject's current data, with waivers and the
    latest confirmation. Dates of events not yet recorded are taken as today (the intended date).
    A register-before-induction study checks only first-dose criteria at the (induction) first
    dose, which comes before randomization. Four queries."""
    if point not in ELIGIBILITY_POINTS:
        raise Http404(f"unknown eligibility point {point!r}")
    today = today or subject.site.today()
    forms = study_forms(subject.protocol_version_id)
    reads = eligibility_reads(subject.protocol_version_id, point)
    # Each version count comes from the same statement as the data it stands for.
    rows = list(
        FormInstance.objects.filter(subject=subject).values_list(
            *_STORED_FIELDS, "status", "row_version"
        )
    )
    stored = [StoredForm(*row[:6]) for row in rows if row[6] != FormStatus.REMOVED]
    consents = list(subject.consents.values_list("consent_date", "row_version"))
    intended = {_INTENDED_DATE[point]: today}
    context = eligibility_rules.subject_context(
        forms.definition.get("enrolment_model", "enrol_after_induction"),
        consent_date=min((c[0] for c in consents), default=None),
        registration_date=subject.registration_date or intended.get("registration_date"),
        randomization_date=subject.randomization_date or intended.get("randomization_date"),
        first_dose_date=first_dose_date(forms, stored) or intended.get("first_dose_date"),
        today=today,
    )
    data = build_subject_data(forms, stored, context)
    criteria = _due_criteria(forms, point)
    results = [eligibility_rules.evaluate_criterion(c, data, labels=forms.labels) for c in criteria]
    texts = {c["id"]: c["text"] for c in criteria}
    waivers = {w.criterion_id: w for w in EligibilityWaiver.objects.filter(subject=subject)}
    lines = [
        CriterionLine(
            r.id,
            r.kind,
            texts[r.id],
            r.status.value,
            r.reason,
            r.evaluated_at,
            waivers.get(r.id) if r.status not in eligibility_rules.SATISFIED else None,
            r.reasons,
        )
        for r in results
    ]
    confirmation = (
        EligibilityConfirmation.objects.filter(subject=subject, point=point)
        .select_related("signed_by")
        .order_by("-signed_at", "-id")
        .first()
    )
    inputs = _inputs(
        subject,
        reads,
        today,
        forms=sum(row[7] for row in rows if row[1] in reads.form_codes),
        consents=sum(c[1] for c in consents),
        waivers=len(waivers),
    )
    return EligibilityState(subject, point, lines, confirmation, today, inputs)


def _per_subject(queryset, function: str, column: str) -> Subquery:
    """COUNT or SUM of one column over the subject's rows as a scalar subquery: the aggregate
    in a subquery as Django's documentation writes it (``Func`` over the rows, no GROUP BY).
    A SUM over no rows is NULL."""
    total = queryset.order_by().annotate(value=Func(F(column), function=function)).values("value")
    return Subquery(total, output_field=IntegerField())


def _still_signed(subject: Subject, point: str) -> EligibilityConfirmation | None:
    """The latest confirmation at `point` when nothing it was evaluated on has changed since: the
    versions it signed with equal the current ones, read in one statement. Then the rules would
    give exactly the signed results again, so they are not evaluated."""
    reads = eligibility_reads(subject.protocol_version_id, point)
    # The subject is known, so the subqueries name it rather than refer to the outer row.
    forms = FormInstance.objects.filter(subject_id=subject.pk, form_code__in=reads.form_codes)
    confirmation = (
        EligibilityConfirmation.objects.filter(subject=subject, point=point)
        .order_by("-signed_at", "-id")
        .annotate(
            forms_versions=_per_subject(forms, "SUM", "row_version")
            if reads.form_codes
            else Value(0),
            consents_versions=_per_subject(
                Consent.objects.filter(subject_id=subject.pk), "SUM", "row_version"
            ),
            waivers_count=_per_subject(
                EligibilityWaiver.objects.filter(subject_id=subject.pk), "COUNT", "pk"
            ),
        )
        .first()
    )
    if confirmation is None:
        return None
    signed = confirmation.results
    current = _inputs(
        subject,
        reads,
        subject.site.today(),
        forms=confirmation.forms_versions or 0,
        consents=confirmation.consents_versions or 0,
        waivers=confirmation.waivers_count,
    )
    if signed.get("inputs") != current or snapshot_sha256(signed) != confirmation.results_sha256:
        return None
    cleared = all(
        c["status"] in eligibility_rules.SATISFIED or c["waived"] for c in signed["criteria"]
    )
    return confirmation if cleared else None


def points_with_criteria(subject: Subject) -> list[str]:
    """The eligibility points at which the subject's protocol version has criteria due. No
    query: the study's forms are cached per protocol version."""
    forms = study_forms(subject.protocol_version_id)
    return [point for point in ELIGIBILITY_POINTS if _due_criteria(forms, point)]


def open_eligibility_point(subject: Subject) -> str | None:
    """Where the eligibility page opens: the first point that has criteria and is not yet
    confirmed (or whose confirmation no longer matches the data); the last point with criteria
    when all are confirmed; None when the study has no criteria at all."""
    points = points_with_criteria(subject)
    for point in points:
        if _still_signed(subject, point) is None:
            return point
    return points[-1] if points else None


def eligibility_status(
    subject: Subject, point: str
) -> tuple[bool, list[str], EligibilityConfirmation | None]:
    """May the subject pass `point` (randomization, first_dose, registration)?

    True only when every criterion due at the point passes or is attested yes (or is waived with
    recorded sponsor approval), no exclusion applies, and an investigator's e-signed
    confirmation covers exactly these results. `reasons` says what blocks it. One query when
    nothing the signed results were evaluated on has changed; otherwise a full evaluation."""
    if point not in ELIGIBILITY_POINTS:
        raise Http404(f"unknown eligibility point {point!r}")
    confirmation = _still_signed(subject, point)
    if confirmation is not None:
        return True, [], confirmation
    state = eligibility_state(subject, point)
    return (
        state.allowed,
        state.reasons(),
        state.confirmation if state.confirmation_current else None,
    )
