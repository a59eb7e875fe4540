"""Body surface area and body-size-based doses (domain.md §1.6.2). Pure Python, exact Decimal.

BSA by Mosteller `√(height_cm × weight_kg / 3600)` or Stevenson
`0.0061 × height_cm + 0.0128 × weight_kg − 0.1529`, in m² rounded half-up to 2 decimals (the
value a pharmacy order shows). A planned dose is the protocol's amount per m² times the BSA
(capped when the study sets a cap) or per kg times the weight; a carboplatin dose is the target
AUC (mg/mL·min) by the Calvert formula `AUC × (CrCl + 25)`, with the creatinine clearance capped
(125 mL/min by default, common practice since IDMS-standardised creatinine assays, so an
over-estimated clearance cannot over-dose). A given dose that differs from the planned one by
more than the study's tolerance is flagged for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum


class BsaFormula(StrEnum):
    MOSTELLER = "mosteller"
    STEVENSON = "stevenson"


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def bsa(height_cm: Decimal, weight_kg: Decimal, formula: BsaFormula) -> Decimal:
    """Body surface area in m², 2 decimals."""
    if height_cm <= 0 or weight_kg <= 0:
        raise ValueError("height and weight must be positive")
    with localcontext() as ctx:
        ctx.prec = 28
        if formula is BsaFormula.MOSTELLER:
            exact = (height_cm * weight_kg / 3600).sqrt()
        else:
            exact = (
                Decimal("0.0061") * height_cm + Decimal("0.0128") * weight_kg - Decimal("0.1529")
            )
    return _round(exact, 2)


def formula_text(height_cm: Decimal, weight_kg: Decimal, formula: BsaFormula) -> str:
    if formula is BsaFormula.MOSTELLER:
        return f"√({height_cm} × {weight_kg} / 3600)"
    return f"0.0061 × {height_cm} + 0.0128 × {weight_kg} − 0.1529"


class DosePer(StrEnum):
    M2 = "m2"
    KG = "kg"
    AUC = "auc"  # carboplatin: target AUC in mg/mL·min, by the Calvert formula


# The creatinine clearance the Calvert formula is given at most, in mL/min.
DEFAULT_CRCL_CAP_ML_MIN = Decimal(125)
# The Calvert formula's non-renal clearance term, in mL/min.
CALVERT_NON_RENAL_ML_MIN = Decimal(25)


@dataclass(frozen=True)
class PlannedDose:
    """The planned dose in mg and what it was computed from."""

    mg: Decimal
    per: DosePer
    amount: Decimal  # mg per m² or per kg, or the target AUC
    basis: Decimal  # the BSA used (after any cap), the weight, or the CrCl used (after its cap)
    bsa_uncapped: Decimal | None = None  # the BSA before the cap, when the cap applied
    crcl_uncapped: Decimal | None = None  # the CrCl before its cap, when the cap applied


def calvert_dose(
    auc: Decimal, crcl_ml_min: Decimal, *, crcl_cap_ml_min: Decimal = DEFAULT_CRCL_CAP_ML_MIN
) -> PlannedDose:
    """Carboplatin mg = AUC × (CrCl + 25), CrCl capped at `crcl_cap_ml_min`, rounded to whole mg."""
    if auc <= 0:
        raise ValueError("the target AUC must be positive")
    if crcl_ml_min < 0:
        raise ValueError("the creatinine clearance must not be negative")
    capped = crcl_ml_min > crcl_cap_ml_min
    used = crcl_cap_ml_min if capped else crcl_ml_min
    return PlannedDose(
        _round(auc * (used + CALVERT_NON_RENAL_ML_MIN), 0),
        DosePer.AUC,
        auc,
        used,
        crcl_uncapped=crcl_ml_min if capped else None,
    )


def planned_dose(
    amount: Decimal,
    per: DosePer,
    *,
    bsa_m2: Decimal | None = None,
    weight_kg: Decimal | None = None,
    bsa_cap_m2: Decimal | None = None,
) -> PlannedDose:
    """mg/m² × BSA (BSA capped at `bsa_cap_m2`) or mg/kg × weight, rounded to whole mg."""
    if per is DosePer.AUC:
        raise ValueError("a dose by AUC is computed by calvert_dose")
    if per is DosePer.M2:
        if bsa_m2 is None:
            raise ValueError("a dose per m² needs the BSA")
        capped = bsa_cap_m2 is not None and bsa_m2 > bsa_cap_m2
        basis = bsa_cap_m2 if capped and bsa_cap_m2 is not None else bsa_m2
        return PlannedDose(
            _round(amount * basis, 0), per, amount, basis, bsa_m2 if capped else None
        )
    if weight_kg is None:
        raise ValueError("a dose per kg needs the weight")
    return PlannedDose(_round(amount * weight_kg, 0), per, amount, weight_kg)


def deviation_percent(given_mg: Decimal, planned_mg: Decimal) -> Decimal:
    """(given − planned) / planned × 100, 1 decimal; display and comparison use the same value."""
    if planned_mg == 0:
        raise ValueError("the planned dose is 0")
    with localcontext() as ctx:
        ctx.prec = 28
        return _round((given_mg - planned_mg) / planned_mg * 100, 1)


def exceeds_tolerance(given_mg: Decimal, planned_mg: Decimal, tolerance_percent: Decimal) -> bool:
    """True when the given dose differs from the planned by more than the tolerance (exact)."""
    return abs(given_mg - planned_mg) * 100 > tolerance_percent * planned_mg
