"""Go-live: the list and its commitments, frozen by the database, verifiable from the seed."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.errors import DomainError
from randomization.engine import seed_commitment
from randomization.models import Commitment, RandomizationScheme, Seed, Slot, Stratum
from randomization.services import go_live, reveal_seed
from tests.randomization.conftest import FIXED_SEED
from tests.randomization.independent import list_text, params_text, stratum_rows

# T-MINI: arms A/B 1:1, blocks {2,4}, factor response CR/PR, not by site, target 20.
ARMS = [("A", 1), ("B", 1)]
NAMES = {"A": "Arm A", "B": "Arm B"}
STRATA = ["response=CR", "response=PR"]


def test_go_live_commits_to_the_list_an_outsider_regenerates_from_the_seed(live):
    commitment = live.commitment
    lists = {key: stratum_rows(FIXED_SEED, "T-MINI", key, ARMS, (2, 4), 20) for key in STRATA}
    params = params_text("T-MINI", ARMS, NAMES, (2, 4), 20, STRATA)
    assert commitment.params_sha256 == hashlib.sha256(params).hexdigest()
    assert commitment.list_sha256 == hashlib.sha256(params + list_text(lists)).hexdigest()
    assert commitment.seed_sha256 == hashlib.sha256(FIXED_SEED + live.salt).hexdigest()
    stored = {
        key: list(
            Slot.objects.filter(stratum__key=key)
            .order_by("sequence")
            .values_list("sequence", "block_number", "block_size", "position_in_block", "arm")
        )
        for key in STRATA
    }
    assert stored == lists
    assert {s.key: s.slots_total for s in Stratum.objects.all()} == {
        key: len(rows) for key, rows in lists.items()
    }
    assert commitment.slot_count == sum(len(rows) for rows in lists.values())


def test_golden_list_through_the_django_go_live_path(live):
    # Frozen on purpose: a change to generation, parameters text or storage would silently
    # change every committed schedule; such a change must bump the generator version instead.
    assert live.commitment.list_sha256 == (
        "be03dec401f9ad4d44d8d60b408e1680e9d808f515efbaca01399995e853d4d9"
    )


def test_go_live_is_audited_and_the_seed_is_wrapped_not_stored_plainly(live):
    event = AuditEvent.objects.get(action="randomization_go_live", item="list_sha256")
    assert event.new_value == live.commitment.list_sha256
    wrapped = bytes(Seed.objects.get().wrapped)
    assert FIXED_SEED not in wrapped


def test_going_live_twice_is_refused(live, study):
    with pytest.raises(DomainError) as refused:
        go_live(ChangeContext.system(), study)
    assert refused.value.code == "already_live"
    assert Commitment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE randomization_commitment SET list_sha256 = 'x'",
        "DELETE FROM randomization_commitment",
        "UPDATE randomization_seed SET salt = salt",
        "UPDATE randomization_randomizationscheme SET params = '{}'",
        "DELETE FROM randomization_randomizationscheme",
        "UPDATE randomization_slot SET arm = 'B' WHERE arm = 'A'",
        "UPDATE randomization_slot SET sequence = sequence + 1000",
        "DELETE FROM randomization_slot",
    ],
)
def test_database_refuses_changes_to_a_live_scheme(study, site_a, sql):
    go_live(ChangeContext.system(), study, seed=FIXED_SEED)
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert "refused" in str(refused.value) or "fixed" in str(refused.value)
    assert Commitment.objects.count() == 1
    assert Slot.objects.filter(arm="A").count() == Slot.objects.filter(arm="B").count()


@pytest.mark.django_db(transaction=True)
def test_withdrawing_a_slot_is_the_only_slot_update_and_cannot_be_undone(study, site_a):
    go_live(ChangeContext.system(), study, seed=FIXED_SEED)
    slot = Slot.objects.order_by("id").first()
    Slot.objects.filter(pk=slot.pk).update(available=False)
    with pytest.raises(DatabaseError, match="only withdrawal"), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(available=True)
    assert Slot.objects.get(pk=slot.pk).available is False


def test_scheme_parameters_come_from_the_definition(live):
    scheme = RandomizationScheme.objects.get()
    assert scheme.status == "live" and scheme.went_live_at is not None
    assert scheme.params["block_sizes"] == [2, 4]
    assert [f["code"] for f in scheme.params["factors"]] == ["response"]
    assert scheme.params["min_slots_per_stratum"] == 20


def test_verify_command_passes_with_the_escrowed_seed_and_fails_with_another(live, tmp_path):
    good = tmp_path / "seed.json"
    good.write_text(
        json.dumps({"study": "T-MINI", "seed": FIXED_SEED.hex(), "salt": live.salt.hex()})
    )
    call_command("verify_randomization", "T-MINI", "--seed-file", str(good))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(
        json.dumps({"study": "T-MINI", "seed": bytes(32).hex(), "salt": live.salt.hex()})
    )
    with pytest.raises(CommandError, match="failed"):
        call_command("verify_randomization", "T-MINI", "--seed-file", str(wrong))


def test_go_live_command_writes_a_private_seed_file_that_verifies(study, site_a, tmp_path):
    seed_file = tmp_path / "escrow.json"
    call_command("go_live", "T-MINI", "--seed-out", str(seed_file))
    assert seed_file.stat().st_mode & 0o077 == 0
    data = json.loads(seed_file.read_text())
    assert Commitment.objects.get().seed_sha256 == seed_commitment(
        bytes.fromhex(data["seed"]), bytes.fromhex(data["salt"])
    )
    call_command("verify_randomization", "T-MINI", "--seed-file", str(seed_file))
    with pytest.raises(CommandError, match="already_live"):
        call_command("go_live", "T-MINI")


def test_only_the_statistician_may_reveal_the_seed_and_the_reveal_is_audited(
    live, study, statistician, coordinator_a
):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        reveal_seed(ChangeContext(coordinator_a, "web"), study)
    seed, salt = reveal_seed(ChangeContext(statistician, "api"), study)
    assert (seed, salt) == (FIXED_SEED, live.salt)
    assert AuditEvent.objects.filter(
        action="randomization_seed_revealed", actor=statistician
    ).exists()


@pytest.mark.django_db(databases=["default", "embedded"])
def test_embedded_sqlite_enforces_the_same_rules():
    from django.utils import timezone

    from edc.studies.models import ProtocolVersion, Study

    db = "embedded"
    study = Study.objects.using(db).create(code="T-SQL", title="t", phase="2")
    version = ProtocolVersion.objects.using(db).create(
        study=study, number=1, sha256="x", source_name="x", definition={}
    )
    scheme = RandomizationScheme.objects.using(db).create(
        study=study,
        protocol_version=version,
        method="permuted_blocks",
        params={},
        status="live",
        went_live_at=timezone.now(),
    )
    stratum = Stratum.objects.using(db).create(scheme=scheme, key="all", values={})
    Slot.objects.using(db).create(
        stratum=stratum, sequence=1, block_number=1, block_size=2, position_in_block=1, arm="A"
    )
    Commitment.objects.using(db).create(
        scheme=scheme,
        kind="go_live",
        generator="g",
        params={},
        params_sha256="a",
        list_sha256="b",
        seed_sha256="c",
        slot_count=2,
    )
    refused = [
        "UPDATE randomization_commitment SET list_sha256 = 'x'",
        "DELETE FROM randomization_commitment",
        "UPDATE randomization_randomizationscheme SET params = '[]'",
        "DELETE FROM randomization_randomizationscheme",
        "UPDATE randomization_slot SET arm = 'B'",
        "DELETE FROM randomization_slot",
    ]
    for sql in refused:
        with pytest.raises(DatabaseError), connections[db].cursor() as cursor:
            cursor.execute(sql)
    with connections[db].cursor() as cursor:
        cursor.execute("UPDATE randomization_slot SET available = 0")
        with pytest.raises(DatabaseError, match="only withdrawal"):
            cursor.execute("UPDATE randomization_slot SET available = 1")
        cursor.execute("SELECT list_sha256 FROM randomization_commitment")
        assert cursor.fetchone() == ("b",)
