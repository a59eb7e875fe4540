"""CSV tables. Pure Python: no Django import.

UTF-8 without a byte-order mark, a header row of column names, `\n` line ends, fields quoted
only when they must be, whole numbers written plainly. Rows are written as they come, so
memory does not grow with the table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from edc.exports.tables import Table


def write_csv(path: Path, table: Table, rows: Iterable[tuple]) -> int:
    """Write the table and return how many data rows it has."""
    iterator = iter(rows)
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.column_names)
        # writerows over a list runs in C; chunks keep memory bounded.
        while chunk := list(islice(iterator, 8192)):
            writer.writerows(chunk)
            count += len(chunk)
    return count
