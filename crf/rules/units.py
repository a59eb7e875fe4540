"""Units of measure: UCUM codes read through pint, conversions exact in Decimal. Pure Python.

Study files declare item units as UCUM codes (https://ucum.org). pint does not read UCUM
syntax (`10*9/L`, `m[IU]/L`, `{ratio}`, `u` for micro), so `UCUM_TO_PINT` below maps every
code the studies use to a pint expression; a code missing from the table is refused by name
rather than guessed. Conversions between a mass and an amount of substance (mg/dL and µmol/L)
need the analyte's molar mass, which the study file declares as data.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from functools import cache

import pint

from edc.phrases import gettext_noop, phrase

# UCUM code -> pint expression. Curly-brace annotations ({copies}, {beats}) are dimensionless
# labels in UCUM: they are read as 1, so `{copies}/mL` is a count per millilitre.
UCUM_TO_PINT: dict[str, str] = {
    # substance concentration
    "mol/L": "mole / liter",
    "mmol/L": "millimole / liter",
    "umol/L": "micromole / liter",
    "nmol/L": "nanomole / liter",
    "pmol/L": "picomole / liter",
    # mass concentration
    "g/L": "gram / liter",
    "g/dL": "gram / deciliter",
    "mg/L": "milligram / liter",
    "mg/dL": "milligram / deciliter",
    "ug/L": "microgram / liter",
    "ng/mL": "nanogram / milliliter",
    # number concentration
    "10*9/L": "1e9 / liter",
    "10*12/L": "1e12 / liter",
    "10*3/uL": "1e3 / microliter",
    "/uL": "1 / microliter",
    "/L": "1 / liter",
    "{copies}/mL": "1 / milliliter",
    "[IU]/mL": "international_unit / milliliter",
    # catalytic and arbitrary activity
    "U/L": "enzyme_unit / liter",
    "[IU]/L": "international_unit / liter",
    "m[IU]/L": "milliinternational_unit / liter",
    "m[IU]/mL": "milliinternational_unit / milliliter",
    # flow, volume, time, rate
    "mL/min": "milliliter / minute",
    "mL": "milliliter",
    "L": "liter",
    "s": "second",
    "ms": "millisecond",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
    "/min": "1 / minute",
    "{beats}/min": "1 / minute",
    # body size and dose
    "kg": "kilogram",
    "g": "gram",
    "mg": "milligram",
    "ug": "microgram",
    "m": "meter",
    "cm": "centimeter",
    "mm": "millimeter",
    "m2": "meter ** 2",
    "mg/m2": "milligram / meter ** 2",
    "mg/kg": "milligram / kilogram",
    "mg/d": "milligram / day",
    "mg/kg/d": "milligram / kilogram / day",
    # other
    "Gy": "gray",
    "mm[Hg]": "millimeter_Hg",
    "%": "percent",
    "1": "dimensionless",
    "{ratio}": "dimensionless",
    "dB{HL}": "decibel_hl",
}

MOLAR_MASS_UNIT = "g/mol"


class UnitError(ValueError):
    """A unit code that is not known, or two units that cannot be converted. Its argument is a
    `Phrase`: as a string, the English; on a page, the reader's language."""


class Conversion(StrEnum):
    SAME_DIMENSION = "same_dimension"
    NEEDS_MOLAR_MASS = "needs_molar_mass"
    INCOMPATIBLE = "incompatible"


@cache
def registry() -> pint.UnitRegistry:
    ureg = pint.UnitRegistry(non_int_type=Decimal)
    # Arbitrary units of UCUM: convertible only among themselves.
    ureg.define("international_unit = [arbitrary_international_unit] = IU")
    # A hearing level is a reading, not a physical quantity: a dimension of its own.
    ureg.define("decibel_hl = [hearing_level]")
    return ureg


def is_known(code: str) -> bool:
    return code in UCUM_TO_PINT


@cache
def _quantity(code: str) -> pint.Quantity:
    """The pint quantity one `code` is worth (e.g. 10*9/L -> 1e9 / liter)."""
    expression = UCUM_TO_PINT.get(code)
    if expression is None:
        raise UnitError(
            phrase(
                gettext_noop("unknown unit {unit} (not a UCUM code this system reads)"),
                unit=repr(code),
            )
        )
    quantity = registry().parse_expression(expression)
    if not isinstance(quantity, registry().Quantity):
        quantity = registry().Quantity(Decimal(1), expression)
    return quantity


def conversion(from_code: str, to_code: str) -> Conversion:
    """Whether a value in `from_code` can be expressed in `to_code`, and what it needs."""
    source, target = _quantity(from_code), _quantity(to_code)
    if source.dimensionality == target.dimensionality:
        return Conversion.SAME_DIMENSION
    molar = registry().Quantity(Decimal(1), "gram / mole")
    if target.dimensionality in ((source / molar).dimensionality, (source * molar).dimensionality):
        return Conversion.NEEDS_MOLAR_MASS
    return Conversion.INCOMPATIBLE


def convert(
    value: Decimal, from_code: str, to_code: str, molar_mass: Decimal | None = None
) -> Decimal:
    """`value` in `from_code` expressed in `to_code`, exactly to 28 significant digits.

    `molar_mass` (g/mol) is needed only between a mass and an amount of substance."""
    if from_code == to_code:
        return Decimal(value)
    with localcontext() as ctx:
        ctx.prec = 28
        source = Decimal(value) * _quantity(from_code)
        target = _quantity(to_code)
        kind = conversion(from_code, to_code)
        if kind is Conversion.INCOMPATIBLE:
            raise UnitError(
                phrase(
                    gettext_noop("{source} cannot be converted to {target}"),
                    source=from_code,
                    target=to_code,
                )
            )
        if kind is Conversion.NEEDS_MOLAR_MASS:
            if molar_mass is None:
                raise UnitError(
                    phrase(
                        gettext_noop(
                            "converting {source} to {target} needs the analyte's molar mass"
                        ),
                        source=from_code,
                        target=to_code,
                    )
                )
            mass = registry().Quantity(Decimal(molar_mass), "gram / mole")
            source = (
                source / mass
                if (source / mass).dimensionality == target.dimensionality
                else (source * mass)
            )
        result = source.to(target.units).magnitude / target.magnitude
        return Decimal(result)


def rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def stored_text(value: Decimal, places: int = 4) -> str:
    """A converted value as stored: rounded half-up to `places` decimals, no trailing zeros."""
    text = format(rounded(value, places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


_POWER = re.compile(r"10\*(\d+)")
_ANNOTATION = re.compile(r"\{([^}]*)\}")


def display_unit(code: str) -> str:
    """A UCUM code as people read it: 10*9/L -> 10^9/L, umol/L -> µmol/L, m[IU]/L -> mIU/L,
    mm[Hg] -> mmHg, {ratio} -> ratio, dB{HL} -> dB HL."""
    if not code:
        return ""
    text = _POWER.sub(lambda m: f"10^{m.group(1)}", code)
    text = re.sub(r"(?<![A-Za-z])u(?=(mol|g|L|IU))", "µ", text)
    text = _ANNOTATION.sub(lambda m: m.group(1), text.replace("dB{", "dB {"))
    return text.replace("[", "").replace("]", "")
