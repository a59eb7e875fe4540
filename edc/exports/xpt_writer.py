"""SAS transport (XPORT) version 5 files, written directly. Pure Python: no Django import.

The format (SAS technical note TS-140): 80-byte card images; a library header, one member
header, one 140-byte NAMESTR per variable, then the observations back to back, the last card
padded with blanks. Numbers are 8-byte IBM System/360 floating point; text is fixed width,
blank padded, at most 200 bytes, encoded here as UTF-8. Names have at most 8 characters and
labels 40. Both header dates are the data cut (the lock time), so the same data gives the
same bytes.

Zero is written as SAS writes it (eight zero bytes); pyreadstat reads it as 0, pandas (3.1)
as 5.4e-79, since its converter has no case for a true zero. Round integer columns after
pandas.read_sas.

A character column must be as wide as its longest value, so the writer reads the rows twice:
once to measure, once to write. Values longer than 200 bytes are cut at a character boundary
and counted in the result. An observation of 80 bytes or less would make readers guess where
the blank padding of the last card starts, so such rows are widened past 80 bytes.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from edc.exports.tables import Table

MAX_CHAR_BYTES = 200
CARD = 80
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MISSING = b"\x2e" + bytes(7)
_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhl52s")


@dataclass(frozen=True)
class XptResult:
    rows: int
    truncated_values: int
    widths: dict[str, int]


def sas_datetime(moment: dt.datetime) -> str:
    """`16MAY26:12:00:00`: the header date format, in UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return (
        f"{moment.day:02d}{_MONTHS[moment.month - 1]}{moment.year % 100:02d}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def ibm_float(value: float | int | None) -> bytes:
    """An IEEE double as an 8-byte IBM hexadecimal float; None and NaN become the SAS missing
    value `.`. Whole numbers up to 2**53 convert exactly."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _MISSING
    if value == 0:
        return bytes(8)
    sign = 0x80 if value < 0 else 0
    mantissa, exponent = math.frexp(abs(float(value)))  # value = m * 2**e, 0.5 <= m < 1
    hex_exponent = -((-exponent) // 4)  # ceil(e / 4)
    shift = 4 * hex_exponent - exponent  # 0..3, so that 1/16 <= m / 2**shift < 1
    fraction = round(mantissa * 2 ** (56 - shift))
    if fraction >= 1 << 56:  # rounding carried into a new hexadecimal digit
        fraction >>= 4
        hex_exponent += 1
    biased = hex_exponent + 64
    if biased > 127:
        raise OverflowError(f"{value!r} is too large for an IBM float")
    if biased < 0:
        return bytes(8)
    return bytes([sign | biased]) + fraction.to_bytes(7, "big")


def _card(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > CARD:
        raise ValueError(f"header card longer than 80 bytes: {text!r}")
    return raw.ljust(CARD, b" ")


def _pad(text: str, width: int) -> bytes:
    return _cut(text.encode("utf-8"), width)[0].ljust(width, b" ")


def _cut(raw: bytes, width: int) -> tuple[bytes, bool]:
    if len(raw) <= width:
        return raw, False
    return raw[:width].decode("utf-8", errors="ignore").encode("utf-8"), True


def _headers(table: Table, widths: list[int], created: dt.datetime) -> bytes:
    stamp = sas_datetime(created)
    parts = [
        _card("HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + "0" * 30 + "  "),
        _card("SAS     SAS     SASLIB  9.4     " + "NPC EDC ".ljust(8) + " " * 24 + stamp),
        _card(stamp + " " * 64),
        _card("HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!000000000000000001600000000140  "),
        _card("HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!" + "0" * 30 + "  "),
        _card(
            "SAS     "
            + table.dataset.ljust(8)
            + "SASDATA 9.4     "
            + "NPC EDC ".ljust(8)
            + " " * 24
            + stamp
        ),
        stamp.encode("ascii") + b" " * 16 + _pad(table.label, 40) + b" " * 8,
        _card(
            "HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!000000"
            + f"{len(table.columns):04d}"
            + "0" * 20
            + "  "
        ),
    ]
    namestrs = bytearray()
    position = 0
    for number, (column, width) in enumerate(zip(table.columns, widths, strict=True), start=1):
        namestrs += _NAMESTR.pack(
            1 if column.kind == "int" else 2,
            0,
            width,
            number,
            column.name.encode("ascii").ljust(8, b" "),
            _pad(column.label, 40),
            b" " * 8,
            0,
            0,
            0,
            b"  ",
            b" " * 8,
            0,
            0,
            position,
            bytes(52),
        )
        position += width
    if len(namestrs) % CARD:
        namestrs += b" " * (CARD - len(namestrs) % CARD)
    parts.append(bytes(namestrs))
    parts.append(_card("HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + "0" * 30 + "  "))
    return b"".join(parts)


def measure(table: Table, rows: Iterable[tuple]) -> tuple[list[int], int]:
    """Byte width of every column (8 for numbers, longest value for text) and the row count."""
    text_columns = [i for i, c in enumerate(table.columns) if c.kind == "str"]
    longest = dict.fromkeys(text_columns, 1)
    count = 0
    for row in rows:
        count += 1
        for i in text_columns:
            value = row[i]
            if value:
                size = len(value) if value.isascii() else len(value.encode("utf-8"))
                if size > longest[i]:
                    longest[i] = size
    widths = [
        8 if c.kind == "int" else min(longest[i], MAX_CHAR_BYTES)
        for i, c in enumerate(table.columns)
    ]
    if sum(widths) <= CARD and text_columns:
        last = text_columns[-1]
        widths[last] += CARD + 1 - sum(widths)
    return widths, count


def write_xpt(
    path: Path,
    table: Table,
    rows: Callable[[], Iterable[tuple]],
    *,
    created: dt.datetime,
) -> XptResult:
    """Write the table as one SAS member; `rows` is called twice and must give the same rows.
    A table without rows writes no file (rows=0): pandas.read_sas cannot read an empty member."""
    widths, expected = measure(table, rows())
    if expected == 0:
        return XptResult(0, 0, dict(zip(table.column_names, widths, strict=True)))
    encoders = [_int_encoder() if c.kind == "int" else None for c in table.columns]
    truncated = 0
    written = 0
    with open(path, "wb") as handle:
        handle.write(_headers(table, widths, created))
        buffer: list[bytes] = []
        size = 0
        for row in rows():
            written += 1
            for i, value in enumerate(row):
                encode = encoders[i]
                if encode is not None:
                    buffer.append(encode(value))
                    continue
                width = widths[i]
                raw = value.encode("utf-8") if value else b""
                if len(raw) > width:
                    raw, _ = _cut(raw, width)
                    truncated += 1
                buffer.append(raw.ljust(width, b" "))
            size += 1
            if size >= 4096:
                handle.write(b"".join(buffer))
                buffer.clear()
                size = 0
        handle.write(b"".join(buffer))
        total = sum(widths) * written
        if total % CARD:
            handle.write(b" " * (CARD - total % CARD))
    if written != expected:
        raise RuntimeError(f"{table.name}: rows changed between the two passes")
    return XptResult(written, truncated, dict(zip(table.column_names, widths, strict=True)))


def _int_encoder() -> Callable[[int | None], bytes]:
    cache: dict[int | None, bytes] = {}

    def encode(value: int | None) -> bytes:
        found = cache.get(value)
        if found is None:
            found = ibm_float(value)
            if len(cache) < 100_000:
                cache[value] = found
        return found

    return encode
