"""edc.rows gives what the ORM gives: instances from hand-written SELECTs, single-statement
INSERTs, on PostgreSQL and on SQLite."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models.signals import post_init

from edc.audit.models import AuditEvent
from edc.rows import columns, insert, instance, table, width

BOTH = pytest.mark.django_db(databases=["default", "embedded"])
ALIASES = pytest.mark.parametrize("alias", ["default", "embedded"])


def _selected(model, alias: str, pk) -> tuple:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f'SELECT 1, {columns(model, "m")} FROM {table(model)} m WHERE m."id" = %s', [pk]
        )
        return cursor.fetchone()


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@BOTH
@ALIASES
def test_an_instance_from_a_selected_row_equals_the_one_the_orm_loads(alias):
    user = get_user_model().objects.db_manager(alias).create_user("rows", "rows@example.org", "x")
    event = AuditEvent.objects.using(alias).create(
        at=dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
        actor=user,
        actor_username="rows",
        channel="api",
        action="randomize",
        object_type="randomization.Allocation",
        object_id="7",
        item="allocation",
        new_value={"arm": "A", "values": {"response": "PR"}, "n": [1, 2]},
    )
    for model, pk in ((AuditEvent, event.pk), (get_user_model(), user.pk)):
        row = _selected(model, alias, pk)
        assert len(row) == 1 + width(model)
        built = instance(model, row, connections[alias], start=1)
        loaded = model.objects.using(alias).get(pk=pk)
        assert type(built) is model
        assert _fields(built) == _fields(loaded)
        assert built._state.adding is False and built._state.db == alias
    built = instance(AuditEvent, _selected(AuditEvent, alias, event.pk), connections[alias], 1)
    assert built.at.tzinfo is not None and built.new_value["values"] == {"response": "PR"}
    assert built.actor == user


@BOTH
@ALIASES
def test_listeners_to_model_initialisation_still_hear_built_instances(alias):
    event = AuditEvent.objects.using(alias).create(
        at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), channel="system", action="x", object_type="t"
    )
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append((sender, instance.pk))

    post_init.connect(listener, sender=AuditEvent)
    try:
        built = instance(AuditEvent, _selected(AuditEvent, alias, event.pk), connections[alias], 1)
    finally:
        post_init.disconnect(listener, sender=AuditEvent)
    assert heard == [(AuditEvent, event.pk)] and built.pk == event.pk


@BOTH
@ALIASES
def test_one_insert_stores_what_the_orm_would_and_returns_the_keys(alias, monkeypatch):
    # insert() writes through the default connection, as the services that call it do.
    monkeypatch.setattr("django.db.connection", connections[alias])
    at = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    rows = [
        AuditEvent(
            at=at,
            channel="api",
            action="transition",
            object_type="subjects.Subject",
            object_id="3",
            item=item,
            old_value=old,
            new_value=new,
        )
        for item, old, new in (("status", "registered", "randomized"), ("date", None, [1, "x"]))
    ]
    before = AuditEvent.objects.using(alias).count()
    insert(rows, returning_pk=True)
    assert AuditEvent.objects.using(alias).count() == before + 2
    for row in rows:
        assert row.pk is not None and row._state.adding is False
        stored = AuditEvent.objects.using(alias).get(pk=row.pk)
        assert _fields(stored) == _fields(row)
