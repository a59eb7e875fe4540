"""CSV and Parquet writers on their own: rows read back equal, types kept, bytes stable."""

import csv

import pyarrow.parquet as pq

from edc.exports.csv_writer import write_csv
from edc.exports.parquet_writer import write_parquet
from edc.exports.tables import FORM_COLUMNS, Table

TABLE = Table("t", "T", "Test", FORM_COLUMNS)
ROWS = [
    ("S", "01", "S-01-0001", "SCREEN", 1, 1, "", 0, "NAME", '广州, "Canton"', "", "", "", ""),
    ("S", "01", "S-01-0001", "SCREEN", 1, 1, "", 0, "NOTE", "line one\nline two", "", "", "", ""),
    ("S", "02", "S-02-0001", "CYCLE", 12, 2, "lesions", 3, "LDIAM", "23.0", "", "mm", "23.0", "mm"),
]


def test_csv_reads_back_equal(tmp_path):
    path = tmp_path / "t.csv"
    assert write_csv(path, TABLE, iter(ROWS)) == 3
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == TABLE.column_names
    assert rows[1:] == [[str(v) for v in row] for row in ROWS]
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_parquet_reads_back_equal_with_types(tmp_path):
    path = tmp_path / "t.parquet"
    assert write_parquet(path, TABLE, iter(ROWS), row_group_rows=2) == 3
    table = pq.read_table(path)
    assert table.column_names == TABLE.column_names
    assert [tuple(r.values()) for r in table.to_pylist()] == ROWS
    assert str(table.schema.field("VISITREP").type) == "int64"
    assert str(table.schema.field("VALUE").type) == "string"
    assert pq.ParquetFile(path).metadata.num_row_groups == 2


def test_empty_tables_keep_their_columns(tmp_path):
    assert write_csv(tmp_path / "e.csv", TABLE, iter([])) == 0
    assert (tmp_path / "e.csv").read_text().strip() == ",".join(TABLE.column_names)
    assert write_parquet(tmp_path / "e.parquet", TABLE, iter([])) == 0
    assert pq.read_table(tmp_path / "e.parquet").column_names == TABLE.column_names


def test_same_rows_give_the_same_bytes(tmp_path):
    for name in ("a", "b"):
        write_csv(tmp_path / f"{name}.csv", TABLE, iter(ROWS))
        write_parquet(tmp_path / f"{name}.parquet", TABLE, iter(ROWS))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
