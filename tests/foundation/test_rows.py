"""edc.rows gives what the ORM gives: instances from hand-written SELECTs, single-statement
INSERTs, on PostgreSQL and on SQLite."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connections, transaction
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from edc.audit.models import AuditEvent
from edc.rows import columns, execute, fetchall, fetchone, insert, instance, table, width

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
        built = instance(model, row, start=1, using=alias)
        loaded = model.objects.using(alias).get(pk=pk)
        assert type(built) is model
        assert _fields(built) == _fields(loaded)
        assert built._state.adding is False and built._state.db == alias
    built = instance(AuditEvent, _selected(AuditEvent, alias, event.pk), 1, alias)
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
        built = instance(AuditEvent, _selected(AuditEvent, alias, event.pk), 1, alias)
    finally:
        post_init.disconnect(listener, sender=AuditEvent)
    assert heard == [(AuditEvent, event.pk)] and built.pk == event.pk


@BOTH
@ALIASES
def test_one_insert_stores_what_the_orm_would_and_returns_the_keys(alias):
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
    insert(rows, returning_pk=True, using=alias)
    assert AuditEvent.objects.using(alias).count() == before + 2
    for row in rows:
        assert row.pk is not None and row._state.adding is False
        stored = AuditEvent.objects.using(alias).get(pk=row.pk)
        assert _fields(stored) == _fields(row)


@BOTH
@ALIASES
def test_statements_are_counted_wrapped_and_translated_as_djangos_cursor_would(alias):
    connection = connections[alias]
    sql = f'SELECT COUNT(*) FROM {table(AuditEvent)} WHERE "action" = %s'
    with CaptureQueriesContext(connection) as logged:
        assert fetchone(sql, ["none"], using=alias) == (0,)
        assert fetchall(sql, ["none"], using=alias) == [(0,)]
    assert [q["sql"].count("COUNT") for q in logged.captured_queries] == [1, 1]
    seen = []

    def spy(execute_, sql, params, many, context):
        seen.append(params)
        return execute_(sql, params, many, context)

    with connection.execute_wrapper(spy):
        fetchone(sql, ["wrapped"], using=alias)
    assert seen == [["wrapped"]]
    user = get_user_model().objects.db_manager(alias).create_user("twice")
    duplicate = f'INSERT INTO "{get_user_model()._meta.db_table}" '
    duplicate += '("username", "password", "is_superuser", "first_name", "last_name", "email", '
    duplicate += '"is_staff", "is_active", "date_joined") '
    duplicate += "VALUES (%s, '', FALSE, '', '', '', FALSE, TRUE, %s)"
    with pytest.raises(IntegrityError), transaction.atomic(using=alias):
        execute(duplicate, [user.username, dt.datetime.now(dt.UTC)], using=alias)


@pytest.mark.django_db(transaction=True, databases=["default", "embedded"])
@ALIASES
def test_statements_run_on_after_the_database_connection_is_replaced(alias):
    sql = f'SELECT COUNT(*) FROM {table(AuditEvent)} WHERE "action" = %s'
    assert fetchone(sql, ["none"], using=alias) == (0,)
    connections[alias].close()
    assert fetchone(sql, ["none"], using=alias) == (0,)
    assert execute(f'UPDATE {table(AuditEvent)} SET "id" = "id" WHERE 1 = 0', [], using=alias) == 0


@pytest.mark.django_db
def test_a_new_instance_is_what_the_model_constructor_gives(site_a):
    from edc.rows import unsaved

    user = get_user_model().objects.create_user("author")
    values = dict(
        at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        actor=user,
        actor_username="author",
        channel="api",
        action="create",
        study=site_a.study,
        site_id=site_a.pk,
        subject=None,
        object_type="t",
        object_id="1",
        item="",
        old_value=None,
        new_value={"a": 1},
        reason="",
    )
    built, constructed = unsaved(AuditEvent, **values), AuditEvent(**values)
    assert _fields(built) == _fields(constructed)
    assert built._state.adding is True and built.pk is None
    with CaptureQueriesContext(connections["default"]) as queries:
        assert built.actor is user and built.study is site_a.study
    assert not queries.captured_queries
    built.save()
    assert _fields(AuditEvent.objects.get(pk=built.pk)) == _fields(built)
    with pytest.raises(TypeError, match=r"missing \['reason'\], unknown \['typo'\]"):
        unsaved(AuditEvent, **{**{k: v for k, v in values.items() if k != "reason"}, "typo": 1})


@BOTH
@ALIASES
def test_an_insert_made_conditional_writes_only_when_the_condition_holds(alias):
    def row(item):
        return AuditEvent(
            at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
            channel="api",
            action="conditional",
            object_type="t",
            item=item,
            new_value={"n": 1},
        )

    no, yes = row("no"), row("yes")
    never = (f'EXISTS (SELECT 1 FROM {table(AuditEvent)} WHERE "item" = %s)', ["absent"])
    assert insert([no], returning_pk=True, only_if=never, using=alias) == 0
    assert no.pk is None and no._state.adding
    always = ('NOT EXISTS (SELECT 1 FROM "auth_user" WHERE "username" = %s)', ["absent"])
    assert insert([yes], returning_pk=True, only_if=always, using=alias) == 1
    stored = AuditEvent.objects.using(alias).filter(action="conditional")
    assert [(r.pk, r.item, r.new_value) for r in stored] == [(yes.pk, "yes", {"n": 1})]
    with pytest.raises(ValueError):
        insert([row("a"), row("b")], only_if=always, using=alias)


@BOTH
@ALIASES
def test_a_deferred_field_is_left_out_and_loaded_when_first_read(alias):
    user = get_user_model().objects.db_manager(alias).create_user("late", "late@example.org")
    model, defer = get_user_model(), ("last_login", "date_joined")
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f'SELECT {columns(model, "u", defer)} FROM {table(model)} u WHERE u."id" = %s',
            [user.pk],
        )
        row = cursor.fetchone()
    assert len(row) == width(model, defer) == width(model) - 2
    built = instance(model, row, using=alias, defer=defer)
    assert built.get_deferred_fields() == {"last_login", "date_joined"}
    assert built.email == "late@example.org"
    with CaptureQueriesContext(connections[alias]) as late:
        assert built.date_joined == user.date_joined
    assert len(late.captured_queries) == 1
    with pytest.raises(ValueError, match="no field"):
        columns(model, "u", ("no_such_field",))
