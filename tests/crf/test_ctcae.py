"""CTCAE terms: the shipped list and the import of the official NCI sheet (.xlsx and CSV)."""

import csv

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from crf.ctcae_table import SHIPPED_TERMS, TableError, parse_grades, read_csv
from crf.models import CtcaeTerm
from edc.audit.models import AuditEvent

HEADERS = [
    "MedDRA Code",
    "MedDRA SOC",
    "CTCAE Term",
    "Grade 1",
    "Grade 2",
    "Grade 3",
    "Grade 4",
    "Grade 5",
    "Definition",
    "Navigational Note",
]
TRISMUS = [
    "10044684",
    "Musculoskeletal and connective tissue disorders",
    "Trismus",
    "g1 text",
    "g2 text",
    "g3 text",
    "–",
    "-",
    "A disorder of the jaw.",
    "",
]
NEW_TERM = [
    "10099999",
    "Investigations",
    "Made-up count decreased",
    "a",
    "b",
    "c",
    "d",
    "",
    "",
    "See also X.",
]


def test_shipped_terms_are_loaded_with_their_grades(db):
    necrosis = CtcaeTerm.objects.get(meddra_code="10065706")
    assert (necrosis.term, necrosis.grades, necrosis.grade_text) == (
        "Pharyngeal necrosis",
        [3, 4, 5],
        {},
    )
    assert CtcaeTerm.objects.get(meddra_code="10040785").is_other_specify
    assert CtcaeTerm.objects.count() == len(read_csv(SHIPPED_TERMS))


def test_import_of_the_official_xlsx_sets_grades_and_text(db, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "CTCAE v5.0 Clean Copy"
    sheet.append(HEADERS)
    sheet.append(TRISMUS)
    sheet.append(NEW_TERM)
    sheet.append([None] * 10)
    path = tmp_path / "CTCAE_v5.0.xlsx"
    book.save(path)
    call_command("import_ctcae", str(path))
    trismus = CtcaeTerm.objects.get(meddra_code="10044684")
    assert trismus.grades == [1, 2, 3]  # the dash cells are not selectable
    assert trismus.grade_text == {"1": "g1 text", "2": "g2 text", "3": "g3 text"}
    assert trismus.definition == "A disorder of the jaw."
    added = CtcaeTerm.objects.get(meddra_code="10099999")
    assert added.grades == [1, 2, 3, 4] and added.navigational_note == "See also X."
    rows = AuditEvent.objects.filter(action="ctcae_import")
    assert {r.item for r in rows} == {"10044684", "10099999"}
    call_command("import_ctcae", str(path))  # unchanged: nothing new audited
    assert AuditEvent.objects.filter(action="ctcae_import").count() == 2


def test_import_of_a_csv_export_and_refusals(db, tmp_path):
    path = tmp_path / "ctcae.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerow(TRISMUS)
    call_command("import_ctcae", str(path))
    assert CtcaeTerm.objects.get(meddra_code="10044684").grade_text["3"] == "g3 text"
    wrong = tmp_path / "other.csv"
    wrong.write_text("name,value\nx,1\n")
    with pytest.raises(CommandError, match="not a CTCAE term table"):
        call_command("import_ctcae", str(wrong))
    pdf = tmp_path / "terms.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(CommandError, match="use the official .xlsx"):
        call_command("import_ctcae", str(pdf))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_ctcae", str(tmp_path / "missing.xlsx"))


@pytest.mark.parametrize(
    ("text", "grades"), [("1-5", (1, 2, 3, 4, 5)), ("3,4,5", (3, 4, 5)), ("1-3,5", (1, 2, 3, 5))]
)
def test_grade_lists(text, grades):
    assert parse_grades(text) == grades


@pytest.mark.parametrize("text", ["0-2", "4-6", "", "3-1"])
def test_impossible_grade_lists(text):
    with pytest.raises(TableError):
        parse_grades(text)
