"""The audit table is append-only in the database itself, on PostgreSQL and on SQLite."""

import pytest
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from edc.audit.context import ChangeContext
from edc.audit.models import AuditEvent
from edc.audit.services import record


def _write_row(alias: str) -> int:
    row = AuditEvent.objects.using(alias).create(
        at="2026-01-01T00:00:00Z",
        channel="system",
        action="create",
        object_type="test.Thing",
        object_id="1",
        new_value={"a": 1},
    )
    return row.pk


@pytest.mark.django_db(databases=["default", "embedded"])
@pytest.mark.parametrize("alias", ["default", "embedded"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET new_value = '\"forged\"' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_raw_sql_update_and_delete_fail_on_both_backends(alias, statement):
    pk = _write_row(alias)
    vendor = connections[alias].vendor
    assert vendor == ("postgresql" if alias == "default" else "sqlite")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(using=alias),
        connections[alias].cursor() as cursor,
    ):
        cursor.execute(statement, [pk])
    assert AuditEvent.objects.using(alias).get(pk=pk).new_value == {"a": 1}


@pytest.mark.django_db
def test_orm_update_and_delete_are_refused_too():
    row = record(ChangeContext.system(), "create", object_type="test.Thing", object_id=1, new=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()
    assert AuditEvent.objects.filter(pk=row.pk, reason="").exists()


def test_the_suite_runs_on_postgresql():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_production_hasher_is_argon2():
    from edc import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert production.DEBUG is False
