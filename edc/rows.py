"""Model instances from hand-written SQL, for the few hot paths where compiling an ORM query
costs more CPU than the database spends running it (the randomization API: see
``randomization/bench.py``).

Column lists come from the models, so the SQL follows the schema; values pass through the same
converters a queryset applies, so an instance is what the ORM would have given. The SQL itself
stays plain enough for both PostgreSQL and SQLite.

The statements run through ``fetchone``/``fetchall``/``execute``: one reusable database cursor
per connection instead of a new cursor and wrapper per statement, with Django's own error
translation and broken-transaction check. Whenever Django would log or wrap queries (DEBUG,
query-count assertions, ``connection.execute_wrapper``), they go through Django's cursor
instead, so what is counted and logged is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


@cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    return tuple(model._meta.concrete_fields)


def table(model: type[models.Model]) -> str:
    """The model's table, quoted for SQL."""
    return f'"{model._meta.db_table}"'


@cache
def _selected(model: type[models.Model], defer: tuple[str, ...]) -> tuple[models.Field, ...]:
    unknown = set(defer) - {field.name for field in _fields(model)}
    if unknown:
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
    return tuple(field for field in _fields(model) if field.name not in defer)


def columns(model: type[models.Model], alias: str, defer: tuple[str, ...] = ()) -> str:
    """``alias."col", ...`` for every concrete field but those deferred, in the order
    ``instance`` reads them."""
    return ", ".join(f'{alias}."{field.column}"' for field in _selected(model, defer))


def width(model: type[models.Model], defer: tuple[str, ...] = ()) -> int:
    return len(_selected(model, defer))


@cache
def _loading(
    model: type[models.Model], alias: str, defer: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[tuple[int, Any, tuple[Callable, ...]], ...]]:
    """The selected fields' attribute names in column order, and (position, column,
    converters) of those with converters."""
    connection = connections[alias]
    attnames, converted = [], []
    for position, field in enumerate(_selected(model, defer)):
        attnames.append(field.attname)
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            converted.append((position, column, tuple(converters)))
    return tuple(attnames), tuple(converted)


def instance(
    model: type[models.Model],
    values: Sequence[Any],
    start: int = 0,
    using: str = DEFAULT_DB_ALIAS,
    defer: tuple[str, ...] = (),
) -> models.Model:
    """A model instance from ``values[start:start + width(model, defer)]`` of a row selected
    with ``columns(model, ..., defer)`` from database ``using``: what ``Model.from_db`` gives,
    the deferred fields loaded when first read (as ``QuerySet.defer`` does). Defer what the hot
    path never reads: a timestamp costs a Python loader per value."""
    connection = connections[using]
    attnames, converted = _loading(model, using, defer)
    row = list(values[start : start + len(attnames)])
    for position, column, converters in converted:
        value = row[position]
        for convert in converters:
            value = convert(value, column, connection)
        row[position] = value
    if pre_init.receivers or post_init.receivers:
        return model.from_db(using, attnames, row)
    # Model.__init__ without its per-field descriptor calls and signal sends, for a model
    # nobody listens to: its attributes set as __init__ sets them.
    obj = model.__new__(model)
    obj.__dict__.update(zip(attnames, row, strict=True))
    obj._state = ModelState()
    obj._state.adding = False
    obj._state.db = using
    return obj


@cache
def _building(model: type[models.Model]) -> tuple[dict[str, models.Field], frozenset[str], str]:
    fields = [f for f in _fields(model) if not f.primary_key]
    relations = {f.name: f for f in fields if f.is_relation}
    return relations, frozenset(f.attname for f in fields), model._meta.pk.attname


def unsaved(model: type[models.Model], **values: Any) -> models.Model:
    """An unsaved instance, as ``model(**values)`` gives it, for the hot path's inserts: every
    concrete field but the primary key given, by attribute name (``study_id``) or, for a
    relation, by field name with the related object (``study``), which the instance then holds
    as the ORM would. Without ``Model.__init__``'s per-field work, when nobody listens to
    model init."""
    if pre_init.receivers or post_init.receivers:
        return model(**values)
    relations, attnames, pk = _building(model)
    obj = model.__new__(model)
    given = obj.__dict__
    held = []
    for name, value in values.items():
        field = relations.get(name)
        if field is None:
            given[name] = value
        elif value is None:
            given[field.attname] = None
        else:
            given[field.attname] = value.pk
            held.append((field, value))
    if given.keys() != attnames:
        missing, unknown = attnames - given.keys(), given.keys() - attnames
        raise TypeError(f"{model.__name__}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    given[pk] = None
    obj._state = ModelState()
    for field, value in held:
        field.set_cached_value(obj, value)
    return obj


_TEXT = {"CharField", "TextField", "SlugField", "EmailField", "URLField"}
_INTEGER = {
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "AutoField",
    "BigAutoField",
}


def _ready_type(field: models.Field) -> type | None:
    """The Python type a value of this field is stored as unchanged (None: always prepared)."""
    target = field.target_field if field.is_relation else field
    kind = target.get_internal_type()
    if kind in _TEXT:
        return str
    if kind in _INTEGER:
        return int
    if kind == "BooleanField":
        return bool
    return None


def _plain_value(field: models.Field) -> bool:
    """True when ``pre_save`` would only read the attribute (no auto_now, no file to save)."""
    return type(field).pre_save is models.Field.pre_save


@cache
def _inserted(
    model: type[models.Model],
) -> tuple[tuple[models.Field, str, bool, type | None], ...]:
    return tuple(
        (f, f.attname, _plain_value(f), _ready_type(f)) for f in _fields(model) if not f.primary_key
    )


@lru_cache(maxsize=256)
def _insert_sql(model: type[models.Model], count: int, returning: bool, only_if: str) -> str:
    names = ", ".join(f'"{field.column}"' for field, *_ in _inserted(model))
    placeholders = ", ".join(["%s"] * len(_inserted(model)))
    sql = f"INSERT INTO {table(model)} ({names}) "
    if only_if:
        sql += f"SELECT {placeholders} WHERE {only_if}"
    else:
        sql += "VALUES " + ", ".join([f"({placeholders})"] * count)
    return sql + f' RETURNING "{model._meta.pk.column}"' if returning else sql


def insert(
    instances: Sequence[models.Model],
    *,
    returning_pk: bool = False,
    only_if: tuple[str, Sequence[Any]] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """One INSERT for unsaved instances of one model, values prepared as ``bulk_create``
    prepares them (``pre_save`` included, so ``auto_now_add`` fields are set); with
    ``returning_pk`` each instance gets its primary key. ``only_if`` (SQL, params) inserts one
    instance only when the condition holds as the statement runs. The number of rows written
    (with ``returning_pk``; otherwise the database's count)."""
    if not instances:
        return 0
    if only_if is not None and len(instances) != 1:
        raise ValueError("only_if inserts one instance")
    connection = connections[using]
    model = type(instances[0])
    params = []
    for obj in instances:
        for field, attname, plain, ready in _inserted(model):
            value = getattr(obj, attname) if plain else field.pre_save(obj, True)
            # Strings, integers and booleans of such fields (and NULLs of nullable ones) are
            # what get_db_prep_save would return anyway; it is only called for the rest.
            if (value is None and field.null) or type(value) is ready:
                params.append(value)
            else:
                params.append(field.get_db_prep_save(value, connection))
    condition = ""
    if only_if is not None:
        condition, condition_params = only_if
        params.extend(condition_params)
    sql = _insert_sql(model, len(instances), returning_pk, condition)
    if not returning_pk:
        return execute(sql, params, using=using)
    keys = fetchall(sql, params, using=using)
    if not keys:
        return 0
    for obj, (pk,) in zip(instances, keys, strict=True):
        obj.pk = pk
        obj._state.adding = False
    return len(keys)


# ---- statements ------------------------------------------------------------------------


def _run(sql: str, params: Sequence[Any], consume: Callable[[Any], Any], using: str) -> Any:
    connection = connections[using]
    if connection.queries_logged or connection.execute_wrappers:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return consume(cursor)
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    held = connection.__dict__.get("_edc_rows_cursor")
    if held is None or held[0] is not connection.connection:
        # A new database connection (after a reconnect) gets its own cursor.
        with connection.wrap_database_errors:
            held = (connection.connection, connection.create_cursor())
        connection.__dict__["_edc_rows_cursor"] = held
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        held[1].execute(sql, params)
        return consume(held[1])


def fetchone(sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS) -> tuple | None:
    """The first row of one statement."""
    return _run(sql, params, lambda cursor: cursor.fetchone(), using)


def fetchall(sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    """Every row of one statement."""
    return _run(sql, params, lambda cursor: cursor.fetchall(), using)


def execute(sql: str, params: Sequence[Any], using: str = DEFAULT_DB_ALIAS) -> int:
    """Run one statement; the number of rows it touched."""
    return _run(sql, params, lambda cursor: cursor.rowcount, using)
