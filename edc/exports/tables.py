"""The shape of every exported table. Pure Python: no Django import.

Every table is written in every tabular format (CSV, Parquet, SAS XPT) with the same columns,
so column names obey the strictest format: SAS transport v5 (at most 8 characters, upper case,
labels at most 40 characters). Columns hold text or whole numbers only; dates stay ISO 8601 text
so partial dates survive unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["str", "int"]

SAS_NAME_LENGTH = 8
SAS_LABEL_LENGTH = 40


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: ColumnKind = "str"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]{0,7}", self.name):
            raise ValueError(f"column name {self.name!r} is not a SAS v5 name")
        if len(self.label) > SAS_LABEL_LENGTH:
            raise ValueError(f"column label {self.label!r} is longer than 40 characters")


@dataclass(frozen=True)
class Table:
    """One exported table: `name` is the file stem, `dataset` the SAS member name."""

    name: str
    dataset: str
    label: str
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def sas_names(codes: Iterable[str], reserved: Iterable[str] = ()) -> dict[str, str]:
    """Distinct SAS v5 names for codes, in the order given: upper case letters and digits cut to
    8 characters, a numeric suffix when two codes would collide or a reserved name is taken."""
    taken = {r.upper() for r in reserved}
    names: dict[str, str] = {}
    for code in codes:
        base = re.sub(r"[^A-Z0-9_]", "", code.upper()) or "T"
        if base[0].isdigit():
            base = "T" + base
        base = base[:SAS_NAME_LENGTH]
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = str(n)
            name = base[: SAS_NAME_LENGTH - len(suffix)] + suffix
        taken.add(name)
        names[code] = name
    return names


def sas_label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SAS_LABEL_LENGTH else text[: SAS_LABEL_LENGTH - 1] + "~"


# ---- the fixed tables -----------------------------------------------------------------------

KEY_COLUMNS = (
    Column("STUDYID", "Study identifier"),
    Column("SITEID", "Site code"),
    Column("SUBJID", "Subject identifier"),
)

# One row per item value: the long layout every form table shares.
FORM_COLUMNS = (
    *KEY_COLUMNS,
    Column("VISIT", "Visit (schedule event code)"),
    Column("VISITREP", "Visit repeat number", "int"),
    Column("FORMREP", "Form repeat number", "int"),
    Column("IGROUP", "Repeating group code, empty if none"),
    Column("IGRPROW", "Row of the group, 0 outside a group", "int"),
    Column("ITEM", "Item code (variable name)"),
    Column("VALUE", "Raw value as collected"),
    Column("LABEL", "Label of a coded value"),
    # VALUE is in the item's unit; an item that accepts alternative units keeps what was
    # entered in ORRES / ORRESU (SDTM names), otherwise they repeat VALUE and UNIT.
    Column("UNIT", "Unit of VALUE (UCUM code)"),
    Column("ORRES", "Value as entered"),
    Column("ORRESU", "Unit as entered (UCUM code)"),
)

FORM_INSTANCE_COLUMNS = (
    *KEY_COLUMNS,
    Column("VISIT", "Visit (schedule event code)"),
    Column("VISITREP", "Visit repeat number", "int"),
    Column("FORM", "Form code"),
    Column("FORMREP", "Form repeat number", "int"),
    Column("STATUS", "Form status"),
    Column("PROTVER", "Protocol version the form used", "int"),
    Column("COMPLDTC", "Date-time the form was completed"),
)

SUBJECT_COLUMNS = (
    *KEY_COLUMNS,
    Column("STATUS", "Subject status"),
    Column("PROTVER", "Protocol version of the subject", "int"),
    Column("SCRNDT", "Screening date"),
    Column("REGDT", "Registration date"),
    Column("RANDDT", "Randomization date"),
    Column("OFFSTDT", "Off-study date"),
    Column("OFFSTRSN", "Off-study reason"),
    Column("DTHDT", "Death date"),
    Column("TRTWDRN", "Treatment consent withdrawn (Y/N)"),
)

QUERY_COLUMNS = (
    *KEY_COLUMNS,
    Column("QUERYID", "Query identifier", "int"),
    Column("VISIT", "Visit (schedule event code)"),
    Column("VISITREP", "Visit repeat number", "int"),
    Column("FORM", "Form code"),
    Column("FORMREP", "Form repeat number", "int"),
    Column("ITEM", "Item code"),
    Column("IGRPROW", "Row of the group, 0 outside a group", "int"),
    Column("SOURCE", "Query source (manual or edit check)"),
    Column("STATUS", "Query status at the data cut"),
    Column("RAISEDBY", "Raised by (user name)"),
    Column("RAISEDTC", "Date-time raised"),
    Column("CLOSEDTC", "Date-time closed or cancelled"),
    Column("QTEXT", "Question text"),
)

QUERY_MESSAGE_COLUMNS = (
    Column("STUDYID", "Study identifier"),
    Column("QUERYID", "Query identifier", "int"),
    Column("SEQ", "Message number within the query", "int"),
    Column("ACTION", "Step (raise, answer, requery, close...)"),
    Column("TEXT", "Message text"),
    Column("AUTHOR", "Author (user name)"),
    Column("MSGDTC", "Date-time of the message"),
)

AUDIT_COLUMNS = (
    Column("STUDYID", "Study identifier"),
    Column("AUDITID", "Audit event identifier", "int"),
    Column("EVENTDTC", "Date-time of the event (UTC)"),
    Column("USERNAME", "Who (user name, empty for system)"),
    Column("CHANNEL", "Channel (web, api, system...)"),
    Column("ACTION", "Action"),
    Column("SITEID", "Site code"),
    Column("SUBJID", "Subject identifier"),
    Column("OBJTYPE", "Object type"),
    Column("OBJID", "Object identifier"),
    Column("ITEM", "Item or field changed"),
    Column("OLDVALUE", "Old value (JSON)"),
    Column("NEWVALUE", "New value (JSON)"),
    Column("REASON", "Reason for change"),
)

RANDOMIZATION_BASE_COLUMNS = (
    *KEY_COLUMNS,
    Column("RANDSEQ", "Allocation sequence number", "int"),
    Column("ARMCD", "Arm code"),
    Column("ARM", "Arm name"),
    Column("RANDDTC", "Date-time of randomization (UTC)"),
    Column("RANDBY", "Randomized by (user name)"),
    Column("LISTVER", "List version: commitment number:hash"),
    Column("STRATUM", "Stratum identifier"),
    Column("CORRECT", "Administrative corrections, | separated"),
)

CODEBOOK_COLUMNS = (
    Column("DATASET", "Table (SAS dataset) holding the item"),
    Column("FORM", "Form code"),
    Column("FORMNAME", "Form name"),
    Column("DOMAIN", "CDISC domain"),
    Column("IGROUP", "Repeating group code, empty if none"),
    Column("ITEM", "Item code (variable name)"),
    Column("ORDER", "Position of the item on the form", "int"),
    Column("LABEL", "Item label (question)"),
    Column("TYPE", "Data type"),
    Column("UNIT", "Unit"),
    Column("ALTUNITS", "Other accepted units, | separated"),
    Column("LENGTH", "Maximum length, 0 if none", "int"),
    Column("DECIMALS", "Decimal places, empty if none"),
    Column("CODELIST", "Codelist of the coded values"),
    Column("RANGELO", "Lowest valid value"),
    Column("RANGEHI", "Highest valid value"),
    Column("REQUIRED", "Required (Y/N)"),
    Column("DERIVED", "Derived by the system (Y/N)"),
)

CODELIST_COLUMNS = (
    Column("CODELIST", "Codelist name"),
    Column("ORDER", "Position within the codelist", "int"),
    Column("CODE", "Coded value"),
    Column("LABEL", "Label"),
)

LABEL_COLUMNS = (
    Column("OBJTYPE", "What is labelled (form, item, codelist)"),
    Column("FORM", "Form code"),
    Column("IGROUP", "Repeating group code, empty if none"),
    Column("ITEM", "Item code (variable name)"),
    Column("CODELIST", "Codelist name"),
    Column("CODE", "Coded value, visit or factor code"),
    Column("LANG", "Language (BCP 47 tag)"),
    Column("TEXT", "Label in that language"),
)

DATASET_COLUMNS = (
    Column("TABLE", "Table (file name without extension)"),
    Column("DATASET", "SAS dataset name"),
    Column("TBLLABEL", "Table label"),
    Column("COLUMN", "Column name"),
    Column("COLORDER", "Column position", "int"),
    Column("COLLABEL", "Column label"),
    Column("COLTYPE", "Column type (str or int)"),
    Column("NOTES", "What a row is"),
)

FIXED_DATASETS = {
    "form_instances": "FORMINST",
    "subjects": "SUBJECTS",
    "randomization": "RANDOM",
    "queries": "QUERIES",
    "query_messages": "QUERYMSG",
    "audit_trail": "AUDIT",
    "codebook": "CODEBOOK",
    "codelists": "CODELIST",
    "labels": "LABELS",
    "datasets": "DATASETS",
}


def fixed_table(name: str, columns: tuple[Column, ...], label: str, description: str) -> Table:
    return Table(name, FIXED_DATASETS[name], label, columns, description)


FORM_INSTANCES = fixed_table(
    "form_instances",
    FORM_INSTANCE_COLUMNS,
    "Form instances and their status",
    "One row per filled form (removed forms excluded), including forms marked not done.",
)
SUBJECTS = fixed_table(
    "subjects", SUBJECT_COLUMNS, "Subjects", "One row per subject, with lifecycle dates."
)
QUERIES = fixed_table(
    "queries",
    QUERY_COLUMNS,
    "Data clarification queries",
    "One row per query raised up to the data cut; status as it was at the cut.",
)
QUERY_MESSAGES = fixed_table(
    "query_messages",
    QUERY_MESSAGE_COLUMNS,
    "Query messages",
    "One row per message of a query thread, up to the data cut.",
)
AUDIT_TRAIL = fixed_table(
    "audit_trail",
    AUDIT_COLUMNS,
    "Audit trail",
    "One row per audit event of the study up to the data cut, in the order recorded.",
)
CODEBOOK = fixed_table(
    "codebook",
    CODEBOOK_COLUMNS,
    "Codebook (data dictionary)",
    "One row per item of every form: where it is, its label, type, unit and codelist.",
)
CODELISTS = fixed_table(
    "codelists",
    CODELIST_COLUMNS,
    "Codelists",
    "One row per coded value: the raw code and its label.",
)
LABELS = fixed_table(
    "labels",
    LABEL_COLUMNS,
    "Labels in every language of the study",
    "One row per label of a study, form, group, item, visit, factor or coded value in each "
    "language the study declares.",
)
DATASETS = fixed_table(
    "datasets",
    DATASET_COLUMNS,
    "Tables and their columns",
    "One row per column of every table in this export.",
)


def randomization_table(factor_codes: list[str], factor_names: dict[str, str]) -> Table:
    """The allocation table: one stratum column per randomization factor, named after it."""
    reserved = [c.name for c in RANDOMIZATION_BASE_COLUMNS]
    names = sas_names(factor_codes, reserved=reserved)
    strata = tuple(
        Column(names[code], sas_label(f"Stratum: {factor_names.get(code, code)}"))
        for code in factor_codes
    )
    return fixed_table(
        "randomization",
        RANDOMIZATION_BASE_COLUMNS + strata,
        "Randomization allocations",
        "One row per allocation, with the stratum values used when the subject was randomized.",
    )


FORMS_FOLDER = "forms"


def form_table(form_code: str, dataset: str, form_name: str) -> Table:
    """Form tables live under forms/, so a form coded like a study table (say `randomization`)
    never collides with it."""
    return Table(
        f"{FORMS_FOLDER}/{form_code}",
        dataset,
        sas_label(form_name),
        FORM_COLUMNS,
        "One row per item value of the form: keys, raw value and the label of a coded value.",
    )


def dataset_rows(tables: Iterable[Table]) -> Iterable[tuple]:
    for table in tables:
        for position, column in enumerate(table.columns, start=1):
            yield (
                table.name,
                table.dataset,
                table.label,
                column.name,
                position,
                column.label,
                column.kind,
                table.description,
            )
