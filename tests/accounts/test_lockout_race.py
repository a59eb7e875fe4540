"""Lockout holds under racing sign-ins (#16.6): 30 wrong passwords sent at once, through the web
form and the API, run at most LOGIN_MAX_FAILURES password checks, on PostgreSQL."""

import threading
import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client, override_settings

from edc.accounts.services import is_locked_out
from edc.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory


class SlowCountingHasher(MD5PasswordHasher):
    """Counts password checks, and makes each slow enough that the racers overlap."""

    algorithm = "slow_counting_md5"
    checks = 0
    lock = threading.Lock()

    def verify(self, password, encoded):
        with SlowCountingHasher.lock:
            SlowCountingHasher.checks += 1
        time.sleep(0.2)
        return super().verify(password, encoded)


RACERS = 30


@pytest.mark.django_db(transaction=True)
@override_settings(
    PASSWORD_HASHERS=["tests.accounts.test_lockout_race.SlowCountingHasher"],
    LOGIN_MAX_FAILURES=5,
)
def test_thirty_simultaneous_wrong_passwords_run_at_most_five_checks():
    # The race is about PostgreSQL's row locking; `make test` and CI run on PostgreSQL.
    assert connection.vendor == "postgresql", "run the suite against PostgreSQL (DATABASE_URL)"
    UserFactory(username="target")
    SlowCountingHasher.checks = 0
    start = threading.Barrier(RACERS)
    answers: list[int] = []

    def race(n: int) -> None:
        try:
            start.wait()
            if n % 2:
                answer = Client().post(
                    "/api/v1/auth/token/",
                    {"username": "target", "password": f"wrong-{n}"},
                    content_type="application/json",
                )
            else:
                answer = Client().post(
                    "/accounts/login/", {"username": "target", "password": f"wrong-{n}"}
                )
            answers.append(answer.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == RACERS
    assert SlowCountingHasher.checks <= 5, f"{SlowCountingHasher.checks} password checks"
    assert is_locked_out("target")
    # The right password no longer gets in, and is not checked either.
    checks = SlowCountingHasher.checks
    refused = Client().post("/api/v1/auth/token/", {"username": "target", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_locked"
    assert SlowCountingHasher.checks == checks
    failures = AuditEvent.objects.filter(action="login_failed", new_value="target")
    assert failures.count() == RACERS + 1
    assert failures.filter(old_value="locked").count() == RACERS + 1 - checks
