"""Response categories and the overall time-point table (RECIST tables 1 and 2, §2.6)."""

from __future__ import annotations

from enum import StrEnum

from crf.rules.recist_baseline import DiseaseStatus


class Response(StrEnum):
    CR = "CR"
    PR = "PR"
    SD = "SD"
    NON_CR_NON_PD = "Non-CR/Non-PD"
    PD = "PD"
    NE = "NE"
    NA = "NA"
    NED = "NED"


class ReviewFlag(StrEnum):
    NODAL_GROWTH_BELOW_10MM = "nodal_growth_below_10mm"
    PD_ON_EVALUATED_TARGETS_ONLY = "pd_on_evaluated_targets_only"
    POST_CR_REAPPEARANCE = "post_cr_reappearance"
    RETRO_PD_CONFIRMED_NEW_LESION = "retro_pd_confirmed_new_lesion"
    UNCONFIRMED_CR_FOLLOWED_BY_PR = "unconfirmed_cr_followed_by_pr"
    # Mode A (no confirmation): BOR stays CR, but one of the two readings is wrong (§2.7).
    CR_FOLLOWED_BY_PR = "cr_followed_by_pr"
    DISEASE_AFTER_UNCONFIRMED_CR = "disease_after_unconfirmed_cr"


NON_PD_NON_TARGET = frozenset({Response.CR, Response.NA, Response.NON_CR_NON_PD})


def combine_overall(
    target: Response,
    non_target: Response,
    new_lesions: NewLesionFinding,
    disease: DiseaseStatus,
) -> Response:
    """Overall time-point response: RECIST tables 1 (targets) and 2 (non-target only), NED (§2.6).

    An equivocal new lesion does not count as a new lesion here.
    """
    if new_lesions is NewLesionFinding.UNEQUIVOCAL:
        return Response.PD
    if target is Response.PD or non_target is Response.PD:
        return Response.PD
    if disease is DiseaseStatus.NO_DISEASE:
        return Response.NED
    if disease is DiseaseStatus.NON_MEASURABLE_ONLY:
        return {
            Response.CR: Response.CR,
            Response.NON_CR_NON_PD: Response.NON_CR_NON_PD,
            Response.NE: Response.NE,
        }[non_target]
    if target is Response.CR:
        return Response.CR if non_target in (Response.CR, Response.NA) else Response.PR
    if target in (Response.PR, Response.SD):
        if non_target not in NON_PD_NON_TARGET | {Response.NE}:
            raise ValueError(f"unexpected non-target response {non_target}")
        return target
    if target is Response.NE:
        return Response.NE
    raise ValueError(f"unexpected target response {target}")


OVERALL_RESPONSES = frozenset(
    {Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD, Response.PD, Response.NE}
    | {Response.NED}
)


class NewLesionFinding(StrEnum):
    NONE = "none"
    EQUIVOCAL = "equivocal"
    UNEQUIVOCAL = "unequivocal"
