"""Values the system computes for derived items that need only their own form. Pure Python.

Each function takes the form's cleaned values (numbers as decimal strings) and returns the
stored value and a sentence saying how it was obtained, or None when an input is missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from crf.rules import dosing
from crf.rules.dosing import BsaFormula

Derivation = tuple[str, str] | None


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _round(value: Decimal, places: int) -> str:
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def bsa(values: Mapping[str, Any], formula: BsaFormula = BsaFormula.MOSTELLER) -> Derivation:
    """Body surface area by the study's formula (Mosteller or Stevenson), m² to 2 decimals."""
    height, weight = _decimal(values.get("HEIGHT")), _decimal(values.get("WEIGHT"))
    if height is None or weight is None or height <= 0 or weight <= 0:
        return None
    shown = str(dosing.bsa(height, weight, formula))
    name = "Mosteller" if formula is BsaFormula.MOSTELLER else "Stevenson"
    return shown, f"{name}: {dosing.formula_text(height, weight, formula)} = {shown} m²"


def bsa_mosteller(values: Mapping[str, Any]) -> Derivation:
    return bsa(values, BsaFormula.MOSTELLER)


def qtc_fridericia(values: Mapping[str, Any]) -> Derivation:
    """QTcF = QT / RR^(1/3), RR = 60 / heart rate in seconds; ms to whole numbers."""
    qt, rate = _decimal(values.get("QT")), _decimal(values.get("EGHR"))
    if qt is None or rate is None or rate <= 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        rr = Decimal(60) / rate
        qtc = qt / (rr.ln() / 3).exp()
    shown = _round(qtc, 0)
    return shown, f"Fridericia: {qt} ms / (60/{rate} s)^(1/3) = {shown} ms"


def ebv_undetectable(values: Mapping[str, Any]) -> Derivation:
    """Y when the EBV DNA value is 0 or below the assay's lower limit of quantification."""
    dna, lloq = _decimal(values.get("EBVDNA")), _decimal(values.get("EBVLLOQ"))
    if dna is None:
        return None
    if dna == 0:
        return "Y", "EBV DNA 0 copies/mL ⇒ undetectable"
    if lloq is not None and dna < lloq:
        return "Y", f"EBV DNA {dna} < LLOQ {lloq} ⇒ undetectable"
    limit = f" ≥ LLOQ {lloq}" if lloq is not None else " > 0 (no LLOQ given)"
    return "N", f"EBV DNA {dna}{limit} ⇒ detectable"


def completed_months(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months
