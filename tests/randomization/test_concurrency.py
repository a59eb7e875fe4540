"""64 simultaneous randomizations into one stratum through the HTTP API, served by a real
multi-worker gunicorn against this test database (committed data: transaction=True)."""

import threading
from collections import Counter, defaultdict

import pytest
from django.db import connection

from edc.audit.context import ChangeContext
from randomization.http_load import JsonClient, start_gunicorn
from randomization.models import Allocation, Slot
from randomization.services import go_live
from tests.factories import api_token
from tests.randomization.helpers import registered_subject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SUBJECTS = 64


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def server(tmp_path):
    assert connection.vendor == "postgresql", "the concurrency proof needs PostgreSQL"
    running = start_gunicorn(
        database_url() + "?conn_max_age=60",
        tmp_path / "gunicorn.log",
        workers=4,
        threads=4,
    )
    yield running
    running.stop()


def fire_together(calls):
    """Run every call in its own thread, released at the same instant."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def test_64_simultaneous_randomizations_into_one_stratum(study, site_a, coordinator_a, server):
    go_live(ChangeContext.system(), study, min_slots_per_stratum=80)
    subjects = [registered_subject(site_a, "CR") for _ in range(SUBJECTS)]
    token = api_token(coordinator_a)

    def randomize(subject):
        def call():
            client = JsonClient(server.host, server.port, token)
            try:
                return client.request(
                    "POST",
                    f"/api/v1/studies/T-MINI/subjects/{subject.subject_id}/randomization/",
                    {"strata": {"response": "CR"}},
                    {"Idempotency-Key": f"first-{subject.subject_id}"},
                )
            finally:
                client.close()

        return call

    answers = fire_together([randomize(s) for s in subjects])
    assert [status for status, _ in answers] == [201] * SUBJECTS, (answers, server.log()[-3000:])
    rows = list(
        Allocation.objects.filter(study=study).values_list(
            "subject_id", "sequence", "arm", "slot__sequence", "slot__arm", "stratum__key"
        )
    )
    assert len({r[0] for r in rows}) == SUBJECTS
    assert sorted(r[1] for r in rows) == list(range(1, SUBJECTS + 1))
    assert all(r[1] == r[3] and r[2] == r[4] and r[5] == "response=CR" for r in rows)
    assert sorted(body["sequence"] for _, body in answers) == list(range(1, SUBJECTS + 1))
    used_by_block = defaultdict(Counter)
    block_size = {}
    for slot in Slot.objects.filter(stratum__key="response=CR", sequence__lte=SUBJECTS):
        used_by_block[slot.block_number][slot.arm] += 1
        block_size[slot.block_number] = slot.block_size
    for block, counts in used_by_block.items():
        if sum(counts.values()) == block_size[block]:
            assert counts["A"] == counts["B"], (block, counts)
        else:  # the last, partly used block: no arm beyond its half
            assert max(counts.values()) <= block_size[block] // 2

    # The same request retried 10 times at once: one allocation, the same answer each time.
    late = registered_subject(site_a, "PR")

    def retry():
        client = JsonClient(server.host, server.port, token)
        try:
            return client.request(
                "POST",
                f"/api/v1/studies/T-MINI/subjects/{late.subject_id}/randomization/",
                {},
                {"Idempotency-Key": "retry-same-request"},
            )
        finally:
            client.close()

    retries = fire_together([retry] * 10)
    assert sorted(status for status, _ in retries) == [200] * 9 + [201], retries
    assert len({(body["sequence"], body["arm"]["code"]) for _, body in retries}) == 1
    assert Allocation.objects.filter(subject=late).count() == 1
    assert Allocation.objects.count() == SUBJECTS + 1


def test_a_follow_up_under_way_in_another_worker_is_skipped_not_repeated(
    study, site_a, coordinator_a
):
    import psycopg

    from randomization.selectors import awaiting_follow_up
    from randomization.services import FOLLOW_UP_LOCK_CLASS, follow_up_allocations, randomize

    go_live(ChangeContext.system(), study)
    made = [
        randomize(ChangeContext(coordinator_a, "api"), registered_subject(site_a, "CR")).allocation
        for _ in range(2)
    ]
    # Another worker holds the first allocation's claim, as follow_up does while it works.
    with psycopg.connect(database_url()) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FOLLOW_UP_LOCK_CLASS, made[0].pk])
        assert follow_up_allocations() == (1, 0)
        assert list(awaiting_follow_up()) == [made[0]]
    assert follow_up_allocations() == (1, 0)
    assert list(awaiting_follow_up()) == []


def test_a_slot_withdrawn_while_an_allocation_waits_for_the_stratum_is_never_given(
    study, site_a, coordinator_a
):
    import time

    import psycopg

    from randomization.models import Stratum
    from randomization.services import randomize

    go_live(ChangeContext.system(), study)
    staff = ChangeContext(coordinator_a, "api")
    first = randomize(staff, registered_subject(site_a, "CR")).allocation
    waiting = registered_subject(site_a, "CR")
    stratum = Stratum.objects.get(pk=first.stratum_id)
    result = {}

    def allocate():
        try:
            result["allocation"] = randomize(staff, waiting).allocation
        finally:
            connection.close()

    # An admin's withdrawal of the next slot, as withdraw_slot does it: the stratum's row locked,
    # then the slot marked. The allocation starts meanwhile and waits for the row.
    with (
        psycopg.connect(database_url()) as admin,
        psycopg.connect(database_url(), autocommit=True) as watcher,
    ):
        admin.execute("SELECT id FROM randomization_stratum WHERE id = %s FOR UPDATE", [stratum.pk])
        admin.execute(
            "UPDATE randomization_slot SET available = FALSE "
            "WHERE stratum_id = %s AND sequence = %s",
            [stratum.pk, first.sequence + 1],
        )
        thread = threading.Thread(target=allocate)
        thread.start()
        deadline = time.monotonic() + 30
        while not watcher.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE 'UPDATE%%randomization_stratum%%'"
        ).fetchone():
            assert time.monotonic() < deadline, "the allocation never waited for the stratum"
            time.sleep(0.02)
        admin.commit()
        thread.join(timeout=60)
    allocation = result["allocation"]
    withdrawn = Slot.objects.get(stratum=stratum, sequence=first.sequence + 1)
    assert not withdrawn.available
    assert allocation.sequence == first.sequence + 2
    assert allocation.slot.available and allocation.slot.sequence == allocation.sequence
    assert allocation.arm == allocation.slot.arm
    assert not Allocation.objects.filter(slot=withdrawn).exists()
    stratum.refresh_from_db()
    assert stratum.next_sequence == allocation.sequence + 1
