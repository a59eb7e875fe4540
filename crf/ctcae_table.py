"""Reading CTCAE term tables: the official NCI CTCAE v5.0 sheet and the shipped term list.

Pure Python: no Django import. The official sheet has one row per term with the columns
"MedDRA Code", "MedDRA SOC", "CTCAE Term", "Grade 1" ... "Grade 5", "Definition" and
"Navigational Note"; a grade cell holding a dash means the term has no such grade. The shipped
list (crf/ctcae/terms.csv) has "meddra_code", "soc", "term" and "grades" ("1-5" or "1,2,3").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NO_GRADE = {"", "-", "–", "—"}
OTHER_SPECIFY = "other, specify"


class TableError(ValueError):
    pass


@dataclass(frozen=True)
class TermRow:
    meddra_code: str
    soc: str
    term: str
    grades: tuple[int, ...]
    grade_text: dict[str, str] = field(default_factory=dict)
    definition: str = ""
    navigational_note: str = ""

    @property
    def is_other_specify(self) -> bool:
        return OTHER_SPECIFY in self.term.casefold()


def _normal(header: Any) -> str:
    return " ".join(str(header or "").replace("\n", " ").split()).casefold()


def _column(headers: Sequence[str], *names: str) -> int | None:
    normal = [_normal(h) for h in headers]
    for name in names:
        for index, header in enumerate(normal):
            if header == name:
                return index
    for name in names:
        for index, header in enumerate(normal):
            if name in header:
                return index
    return None


def _cell(row: Sequence[Any], index: int | None) -> str:
    if index is None or index >= len(row) or row[index] is None:
        return ""
    value = row[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_grades(text: str) -> tuple[int, ...]:
    """ "1-5" -> (1, 2, 3, 4, 5); "3,4,5" -> (3, 4, 5)."""
    grades: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        start, end = int(low), int(high or low)
        if not 1 <= start <= end <= 5:
            raise TableError(f"grades {text!r}: grades run from 1 to 5")
        grades.update(range(start, end + 1))
    if not grades:
        raise TableError("a term needs at least one grade")
    return tuple(sorted(grades))


def read_rows(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> list[TermRow]:
    """Terms from either layout; rows without a MedDRA code (blank or section lines) are skipped."""
    headers = [str(h or "") for h in headers]
    code_at = _column(headers, "meddra code", "meddra_code")
    term_at = _column(headers, "ctcae term", "term")
    soc_at = _column(headers, "meddra soc", "soc")
    if code_at is None or term_at is None or soc_at is None:
        raise TableError(
            "not a CTCAE term table: need the columns MedDRA Code, MedDRA SOC and CTCAE Term "
            f"(found {', '.join(h for h in headers if h) or 'no headers'})"
        )
    shipped_at = _column(headers, "grades")
    grade_at = {g: _column(headers, f"grade {g}") for g in range(1, 6)}
    if shipped_at is None and any(index is None for index in grade_at.values()):
        raise TableError("the official layout needs the columns Grade 1 to Grade 5")
    definition_at = _column(headers, "definition")
    note_at = _column(headers, "navigational note")
    terms: list[TermRow] = []
    for line, row in enumerate(rows, start=2):
        code = _cell(row, code_at)
        if not code:
            continue
        if not code.isdigit():
            raise TableError(f"row {line}: MedDRA code {code!r} is not a number")
        if shipped_at is not None:
            grades, text = parse_grades(_cell(row, shipped_at)), {}
        else:
            text = {str(g): _cell(row, i) for g, i in grade_at.items()}
            text = {g: t for g, t in text.items() if t not in NO_GRADE}
            grades = tuple(int(g) for g in text)
            if not grades:
                raise TableError(f"row {line}: term {_cell(row, term_at)!r} has no grade")
        terms.append(
            TermRow(
                meddra_code=code,
                soc=_cell(row, soc_at),
                term=_cell(row, term_at),
                grades=grades,
                grade_text=text,
                definition=_cell(row, definition_at),
                navigational_note=_cell(row, note_at),
            )
        )
    if not terms:
        raise TableError("the table has no terms")
    return terms


def read_csv(path: Path) -> list[TermRow]:
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        headers = next(reader, [])
        return read_rows(headers, reader)


def read_xlsx(path: Path) -> list[TermRow]:
    """The first sheet whose header row names the CTCAE columns."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    problems = []
    for sheet in workbook.worksheets:
        rows = sheet.iter_rows(values_only=True)
        headers = next(rows, ())
        try:
            return read_rows(list(headers), rows)
        except TableError as exc:
            problems.append(f"sheet {sheet.title!r}: {exc}")
    raise TableError("; ".join(problems) or "the workbook has no sheets")


def read_table(path: Path) -> list[TermRow]:
    suffix = Path(path).suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(path)
    if suffix in {".csv", ".txt"}:
        return read_csv(path)
    raise TableError(f"{path}: use the official .xlsx file or a CSV export of it")


SHIPPED_TERMS = Path(__file__).with_name("ctcae") / "terms.csv"
