"""The ODM 1.3.2 writer on its own: schema-valid, keys and repeat keys in the right places,
audit records referring to users and locations that AdminData declares."""

import copy
import datetime as dt
from pathlib import Path

import yaml
from lxml import etree

from edc.exports.codebook import build_layout
from edc.exports.odm_writer import OdmAudit, OdmForm, OdmHeader, OdmSite, write_odm
from tests.exports.conftest import schema_path

DEFINITION = yaml.safe_load(Path(__file__).with_name("export_study.yaml").read_text())
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
CUT = dt.datetime(2026, 5, 16, 9, 30, 5, 120000, tzinfo=dt.UTC)

FORMS = [
    OdmForm("S-1", "01", "SCREEN", 1, "demographics", 1,
            {"SEX": "F", "RACE": ["ASIAN", "OTHER"], "SMOKER": False, "HOMETOWN": 'A & "B" <c>'}),
    OdmForm("S-1", "01", "CYCLE", 1, "tumour", 1,
            {"TUDAT": "2026-02-01", "lesions": [{"LESID": "T1"}, {"LESID": "T2", "LDIAM": "9"}]}),
    OdmForm("S-1", "01", "CYCLE", 1, "ae", 1, {"AETERM": "Nausea"}),
    OdmForm("S-1", "01", "CYCLE", 1, "ae", 2, {"AETERM": "Fatigue"}),
    OdmForm("S-1", "01", "CYCLE", 2, "tumour", 1, {}),
    OdmForm("S-2", "02", "SCREEN", 1, "demographics", 1, {"SEX": "M"}),
]  # fmt: skip
AUDIT = [
    OdmAudit(7, CUT, "staff_a", "01", "create", "crf.FormInstance", "3", "SEX", ""),
    OdmAudit(9, CUT, "", "", "protocol_loaded", "studies.Study", "1", "", "initial load"),
]


def write(path):
    return write_odm(
        path,
        OdmHeader("F.T-EXP.snap", CUT, CUT, "test", "npc-edc test"),
        build_layout([DEFINITION]),
        study_oid="S.T-EXP",
        mdv_oid="MDV.1",
        mdv_name="Protocol version 1",
        mdv_description="v1",
        effective=dt.date(2026, 1, 1),
        usernames=["staff_a"],
        sites=[OdmSite("01", "Hospital One"), OdmSite("02", "Hospital Two")],
        forms=iter(FORMS),
        audit=iter(AUDIT),
    )


def test_file_validates_against_the_odm_132_schema(tmp_path):
    path = tmp_path / "study.xml"
    result = write(path)
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    assert (result.subjects, result.forms, result.audit_records) == (2, 6, 2)
    assert result.item_values == 4 + 4 + 1 + 1 + 0 + 1


def test_clinical_data_keys_and_values(tmp_path):
    path = tmp_path / "study.xml"
    write(path)
    doc = etree.parse(str(path))
    root = doc.getroot()
    assert root.get("CreationDateTime") == "2026-05-16T09:30:05.120000Z"
    assert root.get("ODMVersion") == "1.3.2" and root.get("FileType") == "Snapshot"
    subjects = doc.xpath("//odm:SubjectData", namespaces=NS)
    assert [s.get("SubjectKey") for s in subjects] == ["S-1", "S-2"]
    assert subjects[0].xpath("odm:SiteRef/@LocationOID", namespaces=NS) == ["LOC.01"]
    events = subjects[0].xpath("odm:StudyEventData", namespaces=NS)
    # SCREEN does not repeat: no repeat key; CYCLE repeats: keys 1 and 2.
    assert [(e.get("StudyEventOID"), e.get("StudyEventRepeatKey")) for e in events] == [
        ("SE.SCREEN", None),
        ("SE.CYCLE", "1"),
        ("SE.CYCLE", "2"),
    ]
    forms = events[1].xpath("odm:FormData", namespaces=NS)
    assert [(f.get("FormOID"), f.get("FormRepeatKey")) for f in forms] == [
        ("F.tumour", None),
        ("F.ae", "1"),
        ("F.ae", "2"),
    ]
    groups = forms[0].xpath("odm:ItemGroupData", namespaces=NS)
    assert [(g.get("ItemGroupOID"), g.get("ItemGroupRepeatKey")) for g in groups] == [
        ("IG.tumour", None),
        ("IG.tumour.lesions", "1"),
        ("IG.tumour.lesions", "2"),
    ]
    values = {
        i.get("ItemOID"): i.get("Value")
        for i in subjects[0].xpath(
            ".//odm:FormData[@FormOID='F.demographics']//odm:ItemData", namespaces=NS
        )
    }
    assert values == {
        "I.demographics.SEX": "F",
        "I.demographics.HOMETOWN": 'A & "B" <c>',
        "I.demographics.RACE": "ASIAN|OTHER",
        "I.demographics.SMOKER": "false",
    }


def test_metadata_declares_every_oid_the_data_uses(tmp_path):
    path = tmp_path / "study.xml"
    write(path)
    doc = etree.parse(str(path))
    declared = set(doc.xpath("//odm:MetaDataVersion/*/@OID", namespaces=NS))
    used = set(doc.xpath("//odm:ItemData/@ItemOID | //odm:ItemGroupData/@ItemGroupOID"
                         " | //odm:FormData/@FormOID | //odm:StudyEventData/@StudyEventOID",
                         namespaces=NS))  # fmt: skip
    assert used <= declared
    refs = set(doc.xpath("//odm:CodeListRef/@CodeListOID", namespaces=NS))
    assert refs <= declared
    sex = doc.xpath("//odm:ItemDef[@OID='I.demographics.SEX']", namespaces=NS)[0]
    assert sex.get("DataType") == "text" and sex.get("SASFieldName") == "SEX"
    weight = doc.xpath("//odm:ItemDef[@OID='I.demographics.WEIGHT']", namespaces=NS)[0]
    assert weight.get("DataType") == "float"
    checks = weight.xpath("odm:RangeCheck", namespaces=NS)
    assert [(c.get("Comparator"), c.get("SoftHard"), c.findtext("odm:CheckValue", namespaces=NS))
            for c in checks] == [("GE", "Hard", "20"), ("LE", "Hard", "250"), ("GE", "Soft", "35"),
                                 ("LE", "Soft", "150")]  # fmt: skip
    grade = doc.xpath("//odm:CodeList[@OID='CL.ae.AETOXGR']", namespaces=NS)[0]
    assert grade.get("DataType") == "integer"
    assert doc.xpath("//odm:ItemGroupDef[@OID='IG.demographics']/@SASDatasetName",
                     namespaces=NS) == ["DEMOGRAP"]  # fmt: skip


def test_audit_records_point_at_declared_users_and_locations(tmp_path):
    path = tmp_path / "study.xml"
    write(path)
    doc = etree.parse(str(path))
    users = set(doc.xpath("//odm:AdminData/odm:User/@OID", namespaces=NS))
    locations = set(doc.xpath("//odm:AdminData/odm:Location/@OID", namespaces=NS))
    assert users == {"USR.staff_a", "USR.SYSTEM"}
    assert locations == {"LOC.STUDY", "LOC.01", "LOC.02"}
    records = doc.xpath("//odm:ClinicalData/odm:AuditRecords/odm:AuditRecord", namespaces=NS)
    assert [r.get("ID") for r in records] == ["AR.7", "AR.9"]
    assert {r.find("odm:UserRef", NS).get("UserOID") for r in records} <= users
    assert {r.find("odm:LocationRef", NS).get("LocationOID") for r in records} <= locations
    assert records[1].findtext("odm:ReasonForChange", namespaces=NS) == "initial load"
    assert records[0].findtext("odm:SourceID", namespaces=NS).startswith("audit_trail AUDITID=7")


def test_same_input_gives_the_same_bytes(tmp_path):
    write(tmp_path / "a.xml")
    write(tmp_path / "b.xml")
    assert (tmp_path / "a.xml").read_bytes() == (tmp_path / "b.xml").read_bytes()


def two_languages() -> dict:
    """The export study declaring English and Simplified Chinese, with one text given inline."""
    definition = copy.deepcopy(DEFINITION)
    definition["languages"] = ["en", "zh-Hans"]
    definition["translations"] = {
        "zh-Hans": {
            "texts": {
                "Sex": "性别",
                "Male": "男",
                "Female": "女",
                "Yes": "是",
                "No": "否",
                "Demographics": "人口学资料",
                "Screening": "筛选",
            }
        }
    }
    definition["forms"][0]["items"][0]["label"] = {"en": "Date of birth", "zh-Hans": "出生日期"}
    return definition


def test_two_languages_give_one_translated_text_per_language_and_still_validate(tmp_path):
    path = tmp_path / "study.xml"
    layout = build_layout([two_languages()])
    write_odm(
        path,
        OdmHeader("F.T-EXP.snap", CUT, CUT, "test", "npc-edc test"),
        layout,
        study_oid="S.T-EXP",
        mdv_oid="MDV.1",
        mdv_name="Protocol version 1",
        mdv_description="v1",
        effective=dt.date(2026, 1, 1),
        usernames=["staff_a"],
        sites=[OdmSite("01", "Hospital One"), OdmSite("02", "Hospital Two")],
        forms=iter(FORMS),
        audit=iter(AUDIT),
    )
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log

    def texts(xpath):
        (holder,) = document.xpath(xpath, namespaces=NS)
        return [
            (t.get("{http://www.w3.org/XML/1998/namespace}lang"), t.text)
            for t in holder.xpath("odm:TranslatedText", namespaces=NS)
        ]

    assert texts("//odm:ItemDef[@OID='I.demographics.SEX']/odm:Question") == [
        ("en", "Sex"),
        ("zh-Hans", "性别"),
    ]
    assert texts("//odm:ItemDef[@OID='I.demographics.BRTHDAT']/odm:Question") == [
        ("en", "Date of birth"),
        ("zh-Hans", "出生日期"),
    ]
    assert texts("//odm:CodeList[@OID='CL.NY']/odm:CodeListItem[@CodedValue='Y']/odm:Decode") == [
        ("en", "Yes"),
        ("zh-Hans", "是"),
    ]
    assert texts("//odm:FormDef[@OID='F.demographics']/odm:Description") == [
        ("en", "Demographics"),
        ("zh-Hans", "人口学资料"),
    ]
    # Names, OIDs and coded values stay language-neutral.
    (form,) = document.xpath("//odm:FormDef[@OID='F.demographics']", namespaces=NS)
    assert form.get("Name") == "Demographics"
    (item,) = document.xpath("//odm:ItemDef[@OID='I.demographics.SEX']", namespaces=NS)
    assert item.get("Name") == "SEX"
    # A text the study did not translate keeps its first-language text in both.
    assert texts("//odm:ItemDef[@OID='I.demographics.WEIGHT']/odm:Question") == [
        ("en", "Weight"),
        ("zh-Hans", "Weight"),
    ]


def test_a_seed_study_in_english_and_chinese_validates(tmp_path):
    from django.conf import settings

    from edc.studies.protocol import check_file

    data, problems = check_file(settings.STUDIES_DIR / "t-reirr.yaml")
    assert not problems
    path = tmp_path / "reirr.xml"
    write_odm(
        path,
        OdmHeader("F.T-REIRR.snap", CUT, CUT, "test", "npc-edc test"),
        build_layout([data]),
        study_oid="S.T-REIRR",
        mdv_oid="MDV.1",
        mdv_name="Protocol version 1",
        mdv_description="v1",
        effective=dt.date(2026, 1, 1),
        usernames=[],
        sites=[OdmSite("01", "Hospital One")],
        forms=iter([]),
        audit=iter([]),
    )
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    questions = document.xpath("//odm:ItemDef/odm:Question", namespaces=NS)
    assert questions
    for question in questions:
        langs = question.xpath("odm:TranslatedText/@xml:lang", namespaces=NS)
        assert langs == ["en", "zh-Hans"]
    decode = document.xpath(
        "//odm:CodeList[@OID='CL.RECIST_RESPONSE']/odm:CodeListItem[@CodedValue='CR']"
        "/odm:Decode/odm:TranslatedText[@xml:lang='zh-Hans']",
        namespaces=NS,
    )
    assert [d.text for d in decode] == ["完全缓解(CR)"]
