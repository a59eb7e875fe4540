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
    counter = _Counter(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows(counter)
    return counter.count


class _Counter:
    """Counts rows as csv.writerows pulls them, without a Python call per row."""

    def __init__(self, rows: Iterable[tuple]):
        self._rows = iter(rows)
        self.count = 0

    def __iter__(self):
        for chunk in _chunks(self._rows, 4096):
            self.count += len(chunk)
            yield from chunk


def _chunks(rows, size: int):
    while True:
        chunk = list(islice(rows, size))
        if not chunk:
            return
        yield chunk
