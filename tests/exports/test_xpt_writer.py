"""SAS transport v5 writer: IBM floats against the format's definition, and files read back
by both pandas.read_sas and pyreadstat."""

import datetime as dt
import struct

import pandas as pd
import pyreadstat
import pytest

from edc.exports.tables import Column, Table
from edc.exports.xpt_writer import MAX_CHAR_BYTES, ibm_float, sas_datetime, write_xpt

CUT = dt.datetime(2026, 5, 16, 9, 30, 5, tzinfo=dt.UTC)


def ibm_value(raw: bytes) -> float:
    """Decode per the IBM System/360 definition: sign, excess-64 base-16 exponent, 56-bit
    fraction."""
    sign = -1 if raw[0] & 0x80 else 1
    exponent = (raw[0] & 0x7F) - 64
    fraction = int.from_bytes(raw[1:], "big") / 2**56
    return sign * fraction * 16.0**exponent


@pytest.mark.parametrize(
    ("value", "expected_hex"),
    [
        (1.0, "4110000000000000"),
        (-118.625, "C276A00000000000"),
        (100, "4264000000000000"),
        (0.5, "4080000000000000"),
    ],
)
def test_known_ibm_encodings(value, expected_hex):
    assert ibm_float(value).hex().upper() == expected_hex


@pytest.mark.parametrize(
    "value", [1, 2, 3, 7, 15, 16, 17, 255, 4096, 65535, 123456789, 2**53, -42, 0.1, 61.5, 1e-5]
)
def test_ibm_float_decodes_to_the_same_number(value):
    raw = ibm_float(value)
    assert len(raw) == 8
    assert raw[1] >> 4 != 0, "fraction must be normalised (first hex digit non-zero)"
    assert ibm_value(raw) == pytest.approx(value, rel=2**-52)
    if isinstance(value, int):
        assert ibm_value(raw) == value


def test_zero_and_missing_values():
    assert ibm_float(0) == bytes(8)
    assert ibm_float(None) == b"." + bytes(7)
    assert ibm_float(float("nan")) == b"." + bytes(7)


def test_header_date_format():
    assert sas_datetime(CUT) == "16MAY26:09:30:05"
    china = dt.timezone(dt.timedelta(hours=8))
    assert sas_datetime(dt.datetime(2026, 1, 1, 7, 0, tzinfo=china)) == "31DEC25:23:00:00"


TABLE = Table(
    "sample",
    "SAMPLE",
    "A sample table",
    (
        Column("SUBJID", "Subject identifier"),
        Column("ROWNO", "Row number", "int"),
        Column("VALUE", "Raw value as collected"),
        Column("LABEL", "Label of a coded value"),
    ),
)
ROWS = [
    ("T-01-0001", 0, "61.5", ""),
    ("T-01-0001", 1, '广州, "Canton"', "城市"),
    ("T-01-0002", 2, "", "Female"),
    ("T-01-0002", 123456, "line one\nline two", ""),
]


def read_back(path):
    by_pandas = pd.read_sas(path, format="xport", encoding="utf-8")
    by_pyreadstat, meta = pyreadstat.read_xport(str(path), encoding="utf-8")
    return by_pandas, by_pyreadstat, meta


def test_values_read_back_equal_with_pandas_and_pyreadstat(tmp_path):
    path = tmp_path / "sample.xpt"
    result = write_xpt(path, TABLE, lambda: ROWS, created=CUT)
    assert result.rows == 4 and result.truncated_values == 0
    by_pandas, by_pyreadstat, meta = read_back(path)
    for frame in (by_pandas, by_pyreadstat):
        assert list(frame.columns) == ["SUBJID", "ROWNO", "VALUE", "LABEL"]
        assert list(frame["SUBJID"]) == [r[0] for r in ROWS]
        assert list(frame["VALUE"]) == [r[2] for r in ROWS]
        assert list(frame["LABEL"]) == [r[3] for r in ROWS]
    # pyreadstat reads SAS's true zero exactly; pandas turns it into 5.4e-79 (see the module).
    assert list(by_pyreadstat["ROWNO"]) == [0, 1, 2, 123456]
    assert list(by_pandas["ROWNO"].round().astype(int)) == [0, 1, 2, 123456]
    assert meta.table_name == "SAMPLE"
    assert meta.file_label == "A sample table"
    assert meta.column_labels == [c.label for c in TABLE.columns]
    assert meta.creation_time == CUT.replace(tzinfo=None)
    assert meta.modification_time == CUT.replace(tzinfo=None)


def test_same_rows_give_the_same_bytes_and_cards_of_80(tmp_path):
    first, second = tmp_path / "a.xpt", tmp_path / "b.xpt"
    write_xpt(first, TABLE, lambda: ROWS, created=CUT)
    write_xpt(second, TABLE, lambda: list(ROWS), created=CUT)
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_bytes()) % 80 == 0
    assert b"16MAY26:09:30:05" in first.read_bytes()[:240]


def test_namestr_records_describe_each_variable(tmp_path):
    path = tmp_path / "sample.xpt"
    result = write_xpt(path, TABLE, lambda: ROWS, created=CUT)
    raw = path.read_bytes()
    start = raw.index(b"NAMESTR HEADER RECORD") - 20 + 80
    names, positions = [], []
    for i in range(len(TABLE.columns)):
        fields = struct.unpack(
            ">hhhh8s40s8shhh2s8shhl52s", raw[start + 140 * i : start + 140 * (i + 1)]
        )
        names.append(fields[4].decode().strip())
        positions.append((fields[0], fields[2], fields[14]))
    assert names == ["SUBJID", "ROWNO", "VALUE", "LABEL"]
    widths = [len("T-01-0001"), 8, len("line one\nline two"), len("城市".encode())]
    assert [w for _, w, _ in positions] == [result.widths[n] for n in names]
    assert [t for t, _, _ in positions] == [2, 1, 2, 2]
    assert [p for _, _, p in positions] == [0, widths[0], widths[0] + 8, widths[0] + 8 + widths[2]]


def test_long_values_are_cut_at_200_bytes_on_a_character_boundary(tmp_path):
    long_text = "é" * 150  # 300 bytes in UTF-8
    path = tmp_path / "long.xpt"
    result = write_xpt(path, TABLE, lambda: [("S", 1, long_text, "x")], created=CUT)
    assert result.truncated_values == 1
    assert result.widths["VALUE"] == MAX_CHAR_BYTES
    by_pandas, by_pyreadstat, _ = read_back(path)
    assert by_pandas["VALUE"][0] == "é" * 100
    assert by_pyreadstat["VALUE"][0] == "é" * 100


def test_short_rows_with_blank_ends_keep_their_row_count(tmp_path):
    # 3 rows of a few bytes each, ending in blanks: a reader guessing the padding of the last
    # card would drop or add rows unless each row is longer than a card.
    short = Table(
        "codes",
        "CODES",
        "Codes",
        (Column("CODE", "Code"), Column("ORDER", "Order", "int"), Column("LABEL", "Label")),
    )
    rows = [("Y", 1, ""), ("N", 2, ""), ("", 3, "")]
    path = tmp_path / "codes.xpt"
    result = write_xpt(path, short, lambda: rows, created=CUT)
    assert sum(result.widths.values()) > 80
    by_pandas, by_pyreadstat, _ = read_back(path)
    assert len(by_pandas) == len(by_pyreadstat) == 3
    assert list(by_pyreadstat["CODE"]) == ["Y", "N", ""]
    assert list(by_pandas["ORDER"].round().astype(int)) == [1, 2, 3]


def test_an_empty_table_writes_no_file(tmp_path):
    path = tmp_path / "empty.xpt"
    result = write_xpt(path, TABLE, lambda: [], created=CUT)
    assert result.rows == 0
    assert not path.exists()


def test_rows_that_change_between_passes_are_refused(tmp_path):
    calls = iter([ROWS, ROWS[:2]])
    with pytest.raises(RuntimeError, match="rows changed"):
        write_xpt(tmp_path / "x.xpt", TABLE, lambda: next(calls), created=CUT)
