"""The documented production role really cannot change the audit trail."""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from edc.audit.context import ChangeContext
from edc.audit.services import record

SQL = (settings.BASE_DIR / "deploy" / "postgres-roles.sql").read_text()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_auditevent",
        "UPDATE audit_auditevent SET reason = 'x'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_application_role_cannot_update_delete_or_truncate_the_audit_table(statement):
    row = record(ChangeContext.system(), "create", object_type="test.Thing", object_id=1)
    with connection.cursor() as cursor:
        cursor.execute(SQL)
        cursor.execute("SET ROLE edc_app")
        try:
            cursor.execute(
                "INSERT INTO audit_auditevent (at, actor_username, channel, action, object_type, object_id, item, reason) "
                "VALUES (now(), '', 'system', 'probe', 't', '1', '', '')"
            )
            with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
                cursor.execute(statement)
        finally:
            cursor.execute("RESET ROLE")
    assert type(row).objects.filter(pk=row.pk).exists()
