"""Best overall response with and without confirmation (§2.7, RECIST table 3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from crf.rules.recist_baseline import DiseaseStatus
from crf.rules.recist_parameters import DEFAULT_PARAMETERS, RecistParameters
from crf.rules.recist_responses import OVERALL_RESPONSES, Response, ReviewFlag
from edc.phrases import Phrase, gettext_noop, phrase


class DatedResponse(Protocol):
    @property
    def assessment_id(self) -> str: ...

    @property
    def response_date(self) -> date: ...

    @property
    def overall(self) -> Response: ...


@dataclass(frozen=True)
class OverallAtDate:
    """A bare overall response, for callers that have no full `TimepointResult`."""

    assessment_id: str
    response_date: date
    overall: Response


@dataclass(frozen=True)
class BestResponse:
    response: Response
    derivation: tuple[Phrase, ...]
    flags: frozenset[ReviewFlag] = frozenset()


_STABLE = frozenset({Response.SD, Response.NON_CR_NON_PD, Response.NED})


def best_overall_response(
    timepoints: Sequence[DatedResponse],
    reference_date: date,
    params: RecistParameters = DEFAULT_PARAMETERS,
    disease: DiseaseStatus = DiseaseStatus.MEASURABLE,
) -> BestResponse:
    """BOR over chronological time points from the reference date; those after the first PD are ignored.

    SD, Non-CR/Non-PD and NED count only when observed at >= sd_min_days - sd_tolerance_days after
    `reference_date` (randomization or first dose). `disease` only chooses the stable label for an
    unconfirmed response in Mode B: Non-CR/Non-PD for non-target-only disease, else SD.
    """
    for response in (tp.overall for tp in timepoints):
        if response not in OVERALL_RESPONSES:
            raise ValueError(f"{response} is not an overall response")
    timepoints = _up_to_first_progression(timepoints, frozenset())
    if params.confirmation_required:
        stable_label = (
            Response.NON_CR_NON_PD if disease is DiseaseStatus.NON_MEASURABLE_ONLY else Response.SD
        )
        return _bor_with_confirmation(timepoints, reference_date, params, stable_label)
    return _bor_without_confirmation(timepoints, reference_date, params)


def _up_to_first_progression(
    timepoints: Sequence[DatedResponse], counts_as_pd: frozenset[str]
) -> list[DatedResponse]:
    scoped: list[DatedResponse] = []
    for tp in timepoints:
        scoped.append(tp)
        if tp.overall is Response.PD or tp.assessment_id in counts_as_pd:
            break
    return scoped


def _day(tp: DatedResponse, reference_date: date) -> int:
    return (tp.response_date - reference_date).days


def _describe(tp: DatedResponse, reference_date: date) -> Phrase:
    return phrase(
        gettext_noop("{response} at {at} ({date}, day {day})"),
        response=str(tp.overall),
        at=tp.assessment_id,
        date=tp.response_date.isoformat(),
        day=str(_day(tp, reference_date)),
    )


_MODE_A = phrase(gettext_noop("Mode A (no confirmation)"))
_MODE_B = phrase(gettext_noop("Mode B (confirmation required)"))


def _bor_without_confirmation(
    timepoints: Sequence[DatedResponse], reference_date: date, params: RecistParameters
) -> BestResponse:
    min_days = params.sd_min_days_effective
    mode = _MODE_A
    for rank in (Response.CR, Response.PR):
        hit = next((tp for tp in timepoints if tp.overall is rank), None)
        if hit is not None:
            line = phrase(
                gettext_noop("{mode}: best time-point response {response}"),
                mode=mode,
                response=_describe(hit, reference_date),
            )
            lines = [line]
            flags: frozenset[ReviewFlag] = frozenset()
            after = timepoints[list(timepoints).index(hit) + 1 :]
            later_pr = next((tp for tp in after if tp.overall is Response.PR), None)
            if rank is Response.CR and later_pr is not None:
                # Disease seen after a true CR is PD (RECIST table 3 footnote): either the CR
                # was really a PR or the PR is really PD. BOR stays CR until the reader decides.
                flags = frozenset({ReviewFlag.CR_FOLLOWED_BY_PR})
                lines.append(
                    phrase(
                        gettext_noop(
                            "CR at {cr} followed by PR at {pr}: re-read the CR as PR or the PR "
                            "as PD - review"
                        ),
                        cr=hit.assessment_id,
                        pr=later_pr.assessment_id,
                    )
                )
            return BestResponse(rank, tuple(lines), flags)
    return _bor_fallback(timepoints, reference_date, min_days, mode, frozenset(), ())


def _bor_fallback(
    timepoints: Sequence[DatedResponse],
    reference_date: date,
    min_days: int,
    mode: Phrase,
    counts_as_pd: frozenset[str],
    lines: tuple[Phrase, ...],
    flags: frozenset[ReviewFlag] = frozenset(),
    stable_levels: frozenset[Response] = _STABLE,
    stable_label: Response = Response.SD,
) -> BestResponse:
    stable = [
        tp
        for tp in timepoints
        if tp.overall in stable_levels
        and tp.assessment_id not in counts_as_pd
        and _day(tp, reference_date) >= min_days
    ]
    if stable:
        first = stable[0]
        level = first.overall if first.overall in _STABLE else stable_label
        return BestResponse(
            level,
            (
                *lines,
                phrase(
                    gettext_noop(
                        "{mode}: {response} meets the minimum duration (≥ {days} days) ⇒ {level}"
                    ),
                    mode=mode,
                    response=_describe(first, reference_date),
                    days=str(min_days),
                    level=str(level),
                ),
            ),
            flags,
        )
    early = [tp for tp in timepoints if tp.overall in stable_levels]
    early_text = (
        phrase(
            gettext_noop("; {assessments} before day {days} do not count"),
            assessments=", ".join(tp.assessment_id for tp in early),
            days=str(min_days),
        )
        if early
        else ""
    )
    progressed = next(
        (tp for tp in timepoints if tp.overall is Response.PD or tp.assessment_id in counts_as_pd),
        None,
    )
    if progressed is not None:
        return BestResponse(
            Response.PD,
            (
                *lines,
                phrase(
                    gettext_noop("{mode}: no qualifying response{early}; PD at {at} ⇒ PD"),
                    mode=mode,
                    early=early_text,
                    at=progressed.assessment_id,
                ),
            ),
            flags,
        )
    last = phrase(
        gettext_noop("{mode}: no evaluable qualifying response{early} ⇒ NE"),
        mode=mode,
        early=early_text,
    )
    return BestResponse(Response.NE, (*lines, last), flags)


def _confirmed_pair(
    timepoints: Sequence[DatedResponse],
    levels: frozenset[Response],
    confirm_min_days: int,
) -> tuple[DatedResponse, DatedResponse] | None:
    for i, first in enumerate(timepoints):
        if first.overall not in levels:
            continue
        for later in timepoints[i + 1 :]:
            if later.overall is Response.NE:
                continue
            if later.overall not in levels:
                break
            if (later.response_date - first.response_date).days >= confirm_min_days:
                return first, later
    return None


def _bor_with_confirmation(
    timepoints: Sequence[DatedResponse],
    reference_date: date,
    params: RecistParameters,
    stable_label: Response,
) -> BestResponse:
    mode = _MODE_B
    gap = params.confirm_min_days
    cr_pair = _confirmed_pair(timepoints, frozenset({Response.CR}), gap)
    if cr_pair is not None:
        first, later = cr_pair
        return BestResponse(
            Response.CR,
            (
                phrase(
                    gettext_noop(
                        "{mode}: CR at {first} confirmed by CR at {later} ({days} days ≥ {gap}) ⇒ CR"
                    ),
                    mode=mode,
                    first=first.assessment_id,
                    later=later.assessment_id,
                    days=str((later.response_date - first.response_date).days),
                    gap=str(gap),
                ),
            ),
        )
    pr_pair = _confirmed_pair(timepoints, frozenset({Response.CR, Response.PR}), gap)
    if pr_pair is not None:
        first, later = pr_pair
        lines = [
            phrase(
                gettext_noop(
                    "{mode}: {response} at {first} confirmed at PR level by {later_response} at "
                    "{later} ({days} days ≥ {gap}) ⇒ PR"
                ),
                mode=mode,
                response=str(first.overall),
                first=first.assessment_id,
                later_response=str(later.overall),
                later=later.assessment_id,
                days=str((later.response_date - first.response_date).days),
                gap=str(gap),
            )
        ]
        flags: frozenset[ReviewFlag] = frozenset()
        if first.overall is Response.CR:
            flags = frozenset({ReviewFlag.UNCONFIRMED_CR_FOLLOWED_BY_PR})
            lines.append(
                phrase(
                    gettext_noop(
                        "Unconfirmed CR followed by PR: the CR may be reclassified as PR - review"
                    )
                )
            )
        return BestResponse(Response.PR, tuple(lines), flags)

    # A true CR followed by any disease means the disease reappeared, i.e. progression (RECIST table 3).
    after_cr: set[str] = set()
    last_evaluable: DatedResponse | None = None
    for tp in timepoints:
        if tp.overall is Response.NE:
            continue
        if (
            last_evaluable is not None
            and last_evaluable.overall is Response.CR
            and tp.overall in (Response.SD, Response.NON_CR_NON_PD)
        ):
            after_cr.add(tp.assessment_id)
        last_evaluable = tp
    lines_b: tuple[Phrase, ...] = (
        phrase(gettext_noop("{mode}: no confirmed CR or PR"), mode=mode),
    )
    flags_b: frozenset[ReviewFlag] = frozenset()
    if after_cr:
        flags_b = frozenset({ReviewFlag.DISEASE_AFTER_UNCONFIRMED_CR})
        lines_b += (
            phrase(
                gettext_noop(
                    "{assessments}: disease after an unconfirmed CR counts as PD "
                    "(RECIST table 3) - review"
                ),
                assessments=", ".join(sorted(after_cr)),
            ),
        )
    return _bor_fallback(
        _up_to_first_progression(timepoints, frozenset(after_cr)),
        reference_date,
        params.sd_min_days_effective,
        mode,
        frozenset(after_cr),
        lines_b,
        flags_b,
        stable_levels=_STABLE | {Response.CR, Response.PR},
        stable_label=stable_label,
    )


def is_objective_response(bor: Response) -> bool:
    return bor in (Response.CR, Response.PR)


def is_disease_control(bor: Response) -> bool:
    return bor in (Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD)
