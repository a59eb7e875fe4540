"""check_study and load_study: seed files validate; broken files report every problem with
its path and load nothing."""

import copy
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import CommandError, call_command

from edc.studies.models import ProtocolVersion, Study
from edc.studies.protocol import check_file, validate
from tests.factories import FIXTURES

SEED_CODES = {"T-REIRR", "T-LRRT", "T-REFR", "T-RTV"}


def seed_files() -> list[Path]:
    return sorted(settings.STUDIES_DIR.glob("*.yaml"))


def test_the_four_seed_trials_are_study_files_and_check_clean(capsys):
    files = seed_files()
    codes = {yaml.safe_load(p.read_text())["code"] for p in files}
    assert codes == SEED_CODES
    call_command("check_study", *map(str, files))
    out = capsys.readouterr().out
    assert out.count(": OK") == 4


def minimal() -> dict:
    return yaml.safe_load((FIXTURES / "minimal_study.yaml").read_text())


def broken(mutate) -> dict:
    data = copy.deepcopy(minimal())
    mutate(data)
    return data


BROKEN_CASES = [
    (lambda d: d["arms"][1].update(ratio=0), "arms[1].ratio: must be a positive integer"),
    (lambda d: d["arms"][1].update(ratio="two"), "arms[1].ratio: must be a positive integer"),
    (lambda d: d.pop("title"), "title: is required"),
    (lambda d: d["arms"][0].update(colour="red"), "arms[0].colour: unknown field"),
    (lambda d: d["identifiers"].update(nct="12345"), "identifiers.nct: must be an NCT number"),
    (lambda d: d.update(arms=d["arms"][:1]), "arms: must list at least 2 arms"),
    (
        lambda d: d["forms"][0]["items"][0].update(code="birth_date"),
        "forms[0].items[0].code: must be a CDASH-style variable name",
    ),
    (
        lambda d: d["randomization"].update(block_sizes=[3]),
        "randomization.block_sizes[0]: must be a multiple of the ratio sum 2",
    ),
    (lambda d: d["arms"][1].update(code="A"), "arms[1].code: duplicate code 'A'"),
    (
        lambda d: d["randomization"]["factors"][0]["levels"].append({"code": "SD", "label": "SD"}),
        "randomization.factors[0].levels[2].code: 'SD' is not a choice of randomization.STRESP",
    ),
    (
        lambda d: d["schedule"]["events"][0]["forms"].append("labs"),
        "schedule.events[0].forms[2]: names unknown form 'labs'",
    ),
    (
        lambda d: d["eligibility"][0]["rule"]["all"][0]["cmp"][0]["age_years"][0].update(
            item="demographics.DOB"
        ),
        "eligibility[0].rule.all[0].cmp[0].age_years[0].item: names unknown item 'DOB' on form 'demographics'",
    ),
    (
        lambda d: d["eligibility"][1].update(attestation={"form": "eligibility", "item": "NOPE"}),
        "eligibility[1].attestation: names unknown item eligibility.NOPE",
    ),
    (
        lambda d: d["eligibility"][0].update(kind="exclusion"),
        "eligibility[0].kind: must be inclusion for M-IN1",
    ),
    (
        lambda d: d["forms"][0]["items"][2].update(range={"min": 300, "max": 20}),
        "forms[0].items[2].range: min must not exceed max",
    ),
    (
        lambda d: d["eligibility"][0].update(rule={"between": [1, 2]}),
        "eligibility[0].rule.between: unknown operator",
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), BROKEN_CASES)
def test_each_problem_is_reported_with_its_path(mutate, expected):
    problems = [str(p) for p in validate(broken(mutate))]
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_not_just_the_first():
    def two_faults(d):
        d["arms"][1]["ratio"] = 0
        d.pop("title")

    problems = [str(p) for p in validate(broken(two_faults))]
    assert "arms[1].ratio: must be a positive integer" in problems
    assert "title: is required" in problems


@pytest.mark.django_db
def test_broken_file_loads_nothing_and_the_command_prints_paths(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken(lambda d: d["arms"][1].update(ratio=0))))
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("check_study", str(path))
    assert "arms[1].ratio: must be a positive integer" in capsys.readouterr().out
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_study", str(path))
    assert "arms[1].ratio: must be a positive integer" in capsys.readouterr().err
    assert Study.objects.count() == 0
    assert ProtocolVersion.objects.count() == 0


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("code: T-X\narms: [\n")
    _, problems = check_file(path)
    assert "not valid YAML at line" in str(problems[0])


@pytest.mark.django_db
def test_a_changed_definition_is_a_new_version_and_data_keeps_its_version(tmp_path, capsys):
    from tests.factories import SiteFactory, screen

    path = tmp_path / "study.yaml"
    data = minimal()
    path.write_text(yaml.safe_dump(data))
    call_command("load_study", str(path))
    study = Study.objects.get(code="T-MINI")
    assert study.current_version.number == 1
    site = SiteFactory(study=study)
    subject = screen(site)
    assert subject.protocol_version.number == 1

    call_command("load_study", str(path))
    assert "unchanged" in capsys.readouterr().out
    assert ProtocolVersion.objects.filter(study=study).count() == 1

    data["forms"][0]["items"].append(
        {"code": "HEIGHT", "label": "Height", "type": "decimal", "unit": "cm"}
    )
    path.write_text(yaml.safe_dump(data))
    call_command("load_study", str(path))
    study.refresh_from_db()
    subject.refresh_from_db()
    assert study.current_version.number == 2
    assert subject.protocol_version.number == 1
    assert any(i["code"] == "HEIGHT" for i in study.definition["forms"][0]["items"])


def test_a_site_needs_a_time_zone_the_system_knows(study):
    from edc.audit.context import ChangeContext
    from edc.errors import DomainError
    from edc.studies.models import Site
    from edc.studies.services import create_site

    with pytest.raises(DomainError) as refused:
        create_site(ChangeContext.system(), study, code="09", name="Nowhere", timezone="Mars/Base")
    assert (refused.value.code, refused.value.field) == ("invalid_timezone", "timezone")
    assert not Site.objects.filter(study=study, code="09").exists()
    site = create_site(
        ChangeContext.system(), study, code="09", name="Lima", timezone="America/Lima"
    )
    assert site.timezone == "America/Lima"
