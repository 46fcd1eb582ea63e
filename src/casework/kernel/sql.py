"""Lean statements for the hot paths (intake, event log), where the ORM's per-query
overhead — a few hundred microseconds on small machines — would cost more than the
database work itself.

These helpers keep the ORM's semantics (field conversion for each backend, `auto_now`
fields, defaults) and return ordinary model instances; they only skip query compilation.
Models written with them must not rely on an overridden `save()` or on signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


@cache
def _insert_statement(model: type[Model], vendor: str) -> tuple[str, tuple[Any, ...]]:
    quote = connection.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders}) "
        f"RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, fields


def insert(instance: M) -> M:
    """INSERT one new instance (pk unset) and set its pk, like `save()` for a new row."""
    # The thread's own connection object: `django.db.connection` is a proxy whose every
    # attribute access goes through a context-local lookup, once per field otherwise.
    db = connections[DEFAULT_DB_ALIAS]
    model = type(instance)
    sql, fields = _insert_statement(model, db.vendor)
    params = [f.get_db_prep_save(f.pre_save(instance, add=True), db) for f in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = db.alias
    return instance


def insert_if_absent(instance: M) -> bool:
    """INSERT one new instance unless a unique constraint already holds such a row
    (`ON CONFLICT DO NOTHING`); sets its pk and returns True if it was inserted."""
    db = connections[DEFAULT_DB_ALIAS]
    model = type(instance)
    sql, fields = _insert_statement(model, db.vendor)
    sql = sql.replace(" RETURNING ", " ON CONFLICT DO NOTHING RETURNING ")
    params = [f.get_db_prep_save(f.pre_save(instance, add=True), db) for f in fields]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = db.alias
    return True


def insert_many(instances: Sequence[Model], *, batch_size: int = 500) -> None:
    """INSERT new instances of one model in multi-row statements (their pks stay unset)."""
    if not instances:
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        for start in range(0, len(instances), batch_size):
            cursor.execute(*insert_rows_statement(instances[start : start + batch_size]))


def insert_rows_statement(instances: Sequence[Model]) -> tuple[str, list[Any]]:
    """The multi-row INSERT of `insert_many()` as one statement and its parameters, for a
    caller that sends it together with another (e.g. inside a PostgreSQL `WITH`)."""
    db = connections[DEFAULT_DB_ALIAS]
    model = type(instances[0])
    quote = db.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [
        f.get_db_prep_save(f.pre_save(instance, add=True), db)
        for instance in instances
        for f in fields
    ]
    statement = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES " + ", ".join(
        [row] * len(instances)
    )
    return statement, params


def create(model: type[M], **values: Any) -> M:
    return insert(model(**values))


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any]) -> int:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@cache
def _select_plan(
    model: type[Model], alias: str, vendor: str
) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    columns = ", ".join(f"{alias}.{quote(f.column)}" for f in fields)
    return columns, tuple(f.attname for f in fields), tuple(_converter(f) for f in fields)


def _converter(field: Any) -> Any:
    """The backend's conversion from a raw column value (e.g. SQLite text to datetime), as
    the ORM applies it when it reads rows; None where the raw value is already right."""
    expression = field.get_col(field.model._meta.db_table)
    functions = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
    if not functions:
        return None

    def convert(value: Any) -> Any:
        for function in functions:
            value = function(value, expression, connection)
        return value

    return convert


def select(
    model: type[M], sql_template: str, params: Sequence[Any], *, alias: str = "t"
) -> list[M]:
    """Instances of `model` from a hand-written query. `sql_template` contains `{columns}`
    where the model's columns go, e.g. "SELECT {columns} FROM customers_customer t WHERE …"."""
    db = connections[DEFAULT_DB_ALIAS]
    columns, attnames, converters = _select_plan(model, alias, db.vendor)
    with db.cursor() as cursor:
        cursor.execute(sql_template.replace("{columns}", columns), params)
        rows = cursor.fetchall()
    return [
        model.from_db(
            db.alias,
            attnames,
            [convert(v) if convert else v for convert, v in zip(converters, row, strict=True)],
        )
        for row in rows
    ]


@cache
def _update_statement(
    model: type[Model], names: tuple[str, ...], vendor: str
) -> tuple[str, tuple[Any, ...]]:
    quote = connection.ops.quote_name
    fields = tuple(model._meta.get_field(name) for name in names)
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
        f"WHERE {quote(model._meta.pk.column)} = %s"
    )
    return sql, fields


def update(instance: Model, fields: Sequence[str]) -> int:
    """UPDATE the named fields of a stored instance by its pk, like
    `save(update_fields=fields)`; returns the number of rows changed (0 or 1)."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, model_fields = _update_statement(type(instance), tuple(fields), db.vendor)
    params = [f.get_db_prep_save(f.pre_save(instance, add=False), db) for f in model_fields]
    params.append(instance.pk)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def select_locked(
    model: type[M], sql_template: str, params: Sequence[Any], *, skip_locked: bool = False
) -> list[M]:
    """`select()` with the rows locked for the rest of the transaction where the database
    locks rows (PostgreSQL; SQLite's writers are serialised already). With `skip_locked`,
    rows another transaction holds are left out instead of waited for."""
    features = connections[DEFAULT_DB_ALIAS].features
    if features.has_select_for_update:
        sql_template += " FOR UPDATE"
        if skip_locked and features.has_select_for_update_skip_locked:
            sql_template += " SKIP LOCKED"
    return select(model, sql_template, params)
