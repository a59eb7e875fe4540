"""CDISC ODM 1.3.2 snapshot files, streamed with lxml. No Django import.

One file holds the study metadata (events, forms, item groups, items, codelists, units),
AdminData (the users named by the audit trail and the sites), the clinical data and the
audit trail as ClinicalData/AuditRecords. Forms must arrive ordered by subject, then visit
and visit repeat; each form is built as one element and written at once, so memory holds
one form at a time. OIDs are derived from study codes and never from database ids:

  S.<study>  MDV.<n>  SE.<event>  F.<form>  IG.<form> (plain items)  IG.<form>.<group>
  I.<form>.<item>  CL.<codelist>  MU.<n>  LOC.<site>  USR.<user name>  AR.<audit id>

ODM 1.3.2 AuditRecord has no place for old and new values, so each AuditRecord carries
who, where, when and why, and its SourceID names the row of the `audit_trail` table (same
export) that holds the values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from lxml import etree

from edc.exports.codebook import (
    ALLOCATION_PREFIX,
    FormExpander,
    FormSpec,
    ItemSpec,
    StudyLayout,
    codelist_entries,
)

NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SYSTEM_USER = "USR.SYSTEM"
STUDY_LOCATION = "LOC.STUDY"

DATA_TYPES = {
    "text": "text",
    "integer": "integer",
    "decimal": "float",
    "date": "date",
    "partial_date": "partialDate",
    "datetime": "partialDatetime",
    "time": "partialTime",
    "choice": "text",
    "multichoice": "text",
    "boolean": "boolean",
}


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def _ref(parent, tag: str, order: int, *, mandatory: bool = False, **oid: str) -> None:
    """A metadata reference (StudyEventRef, FormRef, ItemGroupRef, ItemRef) by OID and order."""
    etree.SubElement(
        parent, _tag(tag), **oid, OrderNumber=str(order), Mandatory="Yes" if mandatory else "No"
    )


def _root(name: str, attrib: dict[str, str]):
    """An element written on its own into the stream: it declares the ODM namespace itself,
    because lxml serialises it without knowing the enclosing elements."""
    return etree.Element(_tag(name), attrib, nsmap={None: NS})


@dataclass(frozen=True)
class OdmHeader:
    file_oid: str
    created: dt.datetime
    as_of: dt.datetime
    description: str
    source_system_version: str
    granularity: str | None = "All"


@dataclass(frozen=True)
class OdmSite:
    code: str
    name: str


@dataclass(frozen=True)
class OdmForm:
    subject: str
    site: str
    event: str
    event_repeat: int
    form: str
    form_repeat: int
    data: Any


@dataclass(frozen=True)
class OdmAudit:
    id: int
    at: dt.datetime
    username: str
    site: str
    action: str
    object_type: str
    object_id: str
    item: str
    reason: str


@dataclass(frozen=True)
class OdmResult:
    subjects: int
    forms: int
    item_values: int
    audit_records: int


def user_oid(username: str) -> str:
    return f"USR.{username}" if username else SYSTEM_USER


def site_oid(code: str) -> str:
    return f"LOC.{code}" if code else STUDY_LOCATION


def timestamp(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{moment.microsecond:06d}" if moment.microsecond else "")
        + "Z"
    )


def _text(parent, name: str, texts: Iterable[tuple[str, str]]):
    """An element of TranslatedTexts, one per (language, text)."""
    holder = etree.SubElement(parent, _tag(name))
    for lang, text in texts:
        translated = etree.SubElement(holder, _tag("TranslatedText"))
        translated.set(XML_LANG, lang)
        translated.text = text
    return holder


def _codelist_type(values: Iterable[tuple[str, str]]) -> str:
    codes = [code for code, _ in values]
    if codes and all(c.lstrip("-").isdigit() for c in codes):
        return "integer"
    return "text"


def _item_def(parent, item: ItemSpec, units: dict[str, str], layout: StudyLayout) -> None:
    attrib = {
        "OID": f"I.{item.form}.{item.code}",
        "Name": item.code,
        "DataType": DATA_TYPES.get(item.type, "text"),
    }
    if item.type == "text" and item.max_length:
        attrib["Length"] = str(item.max_length)
    if item.decimals is not None and item.type == "decimal":
        attrib["SignificantDigits"] = str(item.decimals)
    attrib["SASFieldName"] = item.code
    element = etree.SubElement(parent, _tag("ItemDef"), attrib)
    _text(element, "Question", layout.texts_of(item.label))
    if item.unit:
        etree.SubElement(element, _tag("MeasurementUnitRef"), MeasurementUnitOID=units[item.unit])
    for comparator, value, hardness in (
        ("GE", item.range_min, "Hard"),
        ("LE", item.range_max, "Hard"),
        ("GE", item.soft_min, "Soft"),
        ("LE", item.soft_max, "Soft"),
    ):
        if value is None:
            continue
        check = etree.SubElement(
            element, _tag("RangeCheck"), Comparator=comparator, SoftHard=hardness
        )
        number = int(value) if float(value).is_integer() else value
        etree.SubElement(check, _tag("CheckValue")).text = str(number)
    if item.codelist:
        etree.SubElement(element, _tag("CodeListRef"), CodeListOID=f"CL.{item.codelist}")


def study_element(
    layout: StudyLayout, *, study_oid: str, mdv_oid: str, mdv_name: str, description: str
):
    study = etree.Element(_tag("Study"), OID=study_oid, nsmap={None: NS})
    variables = etree.SubElement(study, _tag("GlobalVariables"))
    etree.SubElement(variables, _tag("StudyName")).text = layout.code
    etree.SubElement(variables, _tag("StudyDescription")).text = layout.title
    etree.SubElement(variables, _tag("ProtocolName")).text = layout.code

    units: dict[str, str] = {}
    for form in layout.forms:
        for item in form.all_items:
            if item.unit and item.unit not in units:
                units[item.unit] = f"MU.{len(units) + 1}"
    basics = etree.SubElement(study, _tag("BasicDefinitions"))
    for unit, oid in units.items():
        measurement = etree.SubElement(basics, _tag("MeasurementUnit"), OID=oid, Name=unit)
        # A unit symbol is the same in every language.
        _text(measurement, "Symbol", [(layout.languages[0], unit)])

    mdv = etree.SubElement(
        study, _tag("MetaDataVersion"), OID=mdv_oid, Name=mdv_name, Description=description
    )
    protocol = etree.SubElement(mdv, _tag("Protocol"))
    for order, event in enumerate(layout.events, start=1):
        _ref(protocol, "StudyEventRef", order, StudyEventOID=f"SE.{event.code}")
    known_forms = {f.code for f in layout.forms}
    for event in layout.events:
        definition = etree.SubElement(
            mdv,
            _tag("StudyEventDef"),
            OID=f"SE.{event.code}",
            Name=event.name,
            Repeating="Yes" if event.repeating else "No",
            Type="Unscheduled" if event.kind == "unscheduled" else "Scheduled",
        )
        _text(definition, "Description", layout.texts_of(event.name))
        for order, form_code in enumerate(event.forms, start=1):
            if form_code in known_forms:
                _ref(definition, "FormRef", order, FormOID=f"F.{form_code}")
    for form in layout.forms:
        definition = etree.SubElement(
            mdv,
            _tag("FormDef"),
            OID=f"F.{form.code}",
            Name=form.name,
            Repeating="Yes" if form.repeating else "No",
        )
        _text(definition, "Description", layout.texts_of(form.name))
        for order, (oid, _) in enumerate(_item_groups(form), start=1):
            _ref(definition, "ItemGroupRef", order, ItemGroupOID=oid)
    for form in layout.forms:
        for oid, group in _item_groups(form):
            items = form.items if group is None else group.items
            attrib = {
                "OID": oid,
                "Name": form.name if group is None else f"{form.name}: {group.name}",
                "Repeating": "No" if group is None else "Yes",
            }
            if group is None:
                attrib["SASDatasetName"] = form.dataset
            if form.domain:
                attrib["Domain"] = form.domain
            element = etree.SubElement(mdv, _tag("ItemGroupDef"), attrib)
            for item in items:
                _ref(
                    element,
                    "ItemRef",
                    item.order,
                    mandatory=item.required,
                    ItemOID=f"I.{form.code}.{item.code}",
                )
    for form in layout.forms:
        for item in form.all_items:
            _item_def(mdv, item, units, layout)
    for name, values in codelist_entries(layout).items():
        if name.startswith(ALLOCATION_PREFIX):
            continue
        codelist = etree.SubElement(
            mdv,
            _tag("CodeList"),
            OID=f"CL.{name}",
            Name=name,
            DataType=_codelist_type(values),
        )
        for order, (code, label) in enumerate(values, start=1):
            entry = etree.SubElement(
                codelist, _tag("CodeListItem"), CodedValue=code, OrderNumber=str(order)
            )
            _text(entry, "Decode", layout.texts_of(label))
    return study


def _item_groups(form: FormSpec):
    groups: list[tuple[str, Any]] = []
    if form.items:
        groups.append((f"IG.{form.code}", None))
    for group in form.groups:
        groups.append((f"IG.{form.code}.{group.code}", group))
    return groups


def admin_element(
    *,
    study_oid: str,
    mdv_oid: str,
    effective: dt.date,
    usernames: Iterable[str],
    sites: Iterable[OdmSite],
    study_name: str,
):
    admin = etree.Element(_tag("AdminData"), StudyOID=study_oid, nsmap={None: NS})
    for username in sorted(set(usernames) | {""}):
        user = etree.SubElement(admin, _tag("User"), OID=user_oid(username))
        etree.SubElement(user, _tag("LoginName")).text = username or "system"
    locations = [(STUDY_LOCATION, study_name, "Sponsor")]
    locations += [(site_oid(s.code), s.name, "Site") for s in sites]
    for oid, name, kind in locations:
        location = etree.SubElement(admin, _tag("Location"), OID=oid, Name=name, LocationType=kind)
        etree.SubElement(
            location,
            _tag("MetaDataVersionRef"),
            StudyOID=study_oid,
            MetaDataVersionOID=mdv_oid,
            EffectiveDate=effective.isoformat(),
        )
    return admin


class _FormBuilder:
    def __init__(self, layout: StudyLayout):
        self.forms = {f.code: f for f in layout.forms}
        self.repeating_events = {e.code for e in layout.events if e.repeating}
        self.expanders: dict[str, FormExpander] = {}

    def expander(self, code: str) -> FormExpander:
        found = self.expanders.get(code)
        if found is None:
            found = self.expanders[code] = FormExpander(self.forms.get(code))
        return found

    def form_data(self, record: OdmForm) -> tuple[Any, int]:
        spec = self.forms.get(record.form)
        attrib = {"FormOID": f"F.{record.form}"}
        if (spec is not None and spec.repeating) or record.form_repeat != 1:
            attrib["FormRepeatKey"] = str(record.form_repeat)
        element = _root("FormData", attrib)
        values = self.expander(record.form).rows((), record.data or {})
        for (group, row), cells in groupby(values, key=lambda r: (r[0], r[1])):
            if group:
                group_element = etree.SubElement(
                    element,
                    _tag("ItemGroupData"),
                    ItemGroupOID=f"IG.{record.form}.{group}",
                    ItemGroupRepeatKey=str(row),
                )
            else:
                group_element = etree.SubElement(
                    element, _tag("ItemGroupData"), ItemGroupOID=f"IG.{record.form}"
                )
            for _, _, item, value, *_ in cells:
                etree.SubElement(
                    group_element,
                    _tag("ItemData"),
                    ItemOID=f"I.{record.form}.{item}",
                    Value=value,
                )
        return element, len(values)


def _audit_record(entry: OdmAudit):
    record = _root("AuditRecord", {"ID": f"AR.{entry.id}"})
    etree.SubElement(record, _tag("UserRef"), UserOID=user_oid(entry.username))
    etree.SubElement(record, _tag("LocationRef"), LocationOID=site_oid(entry.site))
    etree.SubElement(record, _tag("DateTimeStamp")).text = timestamp(entry.at)
    if entry.reason:
        etree.SubElement(record, _tag("ReasonForChange")).text = entry.reason
    source = f"audit_trail AUDITID={entry.id}: {entry.action} {entry.object_type}"
    if entry.object_id:
        source += f" {entry.object_id}"
    if entry.item:
        source += f" {entry.item}"
    etree.SubElement(record, _tag("SourceID")).text = source
    return record


def write_odm(
    path: Path,
    header: OdmHeader,
    layout: StudyLayout,
    *,
    study_oid: str,
    mdv_oid: str,
    mdv_name: str,
    mdv_description: str,
    effective: dt.date,
    usernames: Iterable[str],
    sites: list[OdmSite],
    forms: Iterable[OdmForm],
    audit: Iterable[OdmAudit],
) -> OdmResult:
    attrib = {
        "FileType": "Snapshot",
        "FileOID": header.file_oid,
        "CreationDateTime": timestamp(header.created),
        "AsOfDateTime": timestamp(header.as_of),
        "ODMVersion": "1.3.2",
        "Description": header.description,
        "Originator": "NPC EDC",
        "SourceSystem": "NPC EDC",
        "SourceSystemVersion": header.source_system_version,
    }
    if header.granularity:
        attrib["Granularity"] = header.granularity
    builder = _FormBuilder(layout)
    subjects = form_count = values = audits = 0
    with etree.xmlfile(str(path), encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(_tag("ODM"), dict(sorted(attrib.items())), nsmap={None: NS}):
            xf.write("\n")
            xf.write(
                study_element(
                    layout,
                    study_oid=study_oid,
                    mdv_oid=mdv_oid,
                    mdv_name=mdv_name,
                    description=mdv_description,
                ),
                pretty_print=True,
            )
            xf.write(
                admin_element(
                    study_oid=study_oid,
                    mdv_oid=mdv_oid,
                    effective=effective,
                    usernames=usernames,
                    sites=sites,
                    study_name=layout.code,
                ),
                pretty_print=True,
            )
            with xf.element(_tag("ClinicalData"), StudyOID=study_oid, MetaDataVersionOID=mdv_oid):
                xf.write("\n")
                for (subject, site), subject_forms in groupby(
                    forms, key=lambda f: (f.subject, f.site)
                ):
                    subjects += 1
                    with xf.element(_tag("SubjectData"), SubjectKey=subject):
                        xf.write(_root("SiteRef", {"LocationOID": site_oid(site)}))
                        for (event, repeat), event_forms in groupby(
                            subject_forms, key=lambda f: (f.event, f.event_repeat)
                        ):
                            event_attrib = {"StudyEventOID": f"SE.{event}"}
                            if event in builder.repeating_events or repeat != 1:
                                event_attrib["StudyEventRepeatKey"] = str(repeat)
                            with xf.element(_tag("StudyEventData"), event_attrib):
                                for record in event_forms:
                                    element, count = builder.form_data(record)
                                    xf.write(element)
                                    form_count += 1
                                    values += count
                    xf.write("\n")
                with xf.element(_tag("AuditRecords")):
                    xf.write("\n")
                    for entry in audit:
                        xf.write(_audit_record(entry), pretty_print=True)
                        audits += 1
                xf.write("\n")
            xf.write("\n")
    return OdmResult(subjects, form_count, values, audits)
