"""Lean statements for the hot paths (intake, event log), where the ORM's per-query
overhead — a few hundred microseconds on small machines — would cost more than the
database work itself.

These helpers keep the ORM's semantics (field conversion for each backend, `auto_now`
fields, defaults) and return ordinary model instances; they only skip query compilation.
Models written with them must not rely on an overridden `save()` or on signals.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache, partial
from operator import attrgetter
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, router, transaction
from django.db.models import Model
from django.db.models.base import ModelState

from casework.kernel.fields import ClockDateTimeField

M = TypeVar("M", bound=Model)


# Field classes whose database value is the Python value itself when it has the plain
# type: for those the ORM's conversion (a few calls per field and row) is skipped. Exact
# classes only: a subclass may convert in `get_prep_value` (e.g. an encrypted text field).
_PLAIN_TYPES: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.SlugField: (str,),
    models.BooleanField: (bool,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.PositiveBigIntegerField: (int,),
    models.AutoField: (int,),
    models.BigAutoField: (int,),
}
_RELATIONS = (models.ForeignKey, models.OneToOneField)

Preparer = Callable[[Model, Any], Any]


def _sqlite_text(value: datetime) -> str:
    """A datetime in UTC as Django's SQLite backend stores it ("2026-11-02 09:30:00.250000",
    no offset): `str()` of the naive value, a third faster spelled like this."""
    return value.isoformat(" ")[:-6]  # without "+00:00"


def _preparer(field: Any) -> Preparer:
    """How to turn the field's value on an instance into the database parameter: the
    ORM's `get_db_prep_save(pre_save(…))`, or the value itself where that changes nothing."""

    def prepare(instance: Model, db: Any) -> Any:
        return field.get_db_prep_save(field.pre_save(instance, add=True), db)

    target = field.target_field if type(field) in _RELATIONS else field
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return prepare
    attname = field.attname
    if type(target) is models.DateTimeField:

        def prepare_datetime(instance: Model, db: Any) -> Any:
            # An aware datetime in UTC, as the clock gives it: the backends' own
            # conversion comes to the same (SQLite stores UTC text, psycopg adapts it).
            value = getattr(instance, attname)
            if type(value) is datetime and value.tzinfo is UTC:
                return value if db.vendor == "postgresql" else _sqlite_text(value)
            return prepare(instance, db)

        return prepare_datetime
    plain = _PLAIN_TYPES.get(type(target))
    if plain is None:
        return prepare

    def prepare_plain(instance: Model, db: Any) -> Any:
        value = getattr(instance, attname)
        if value is None or type(value) in plain:
            return value
        return prepare(instance, db)

    return prepare_plain


@cache
def _insert_plan(
    model: type[Model], with_pk: bool = False
) -> tuple[tuple[Any, ...], tuple[Preparer, ...]]:
    fields = tuple(f for f in model._meta.concrete_fields if with_pk or not f.primary_key)
    return fields, tuple(_preparer(f) for f in fields)


ColumnPreparer = Callable[[Sequence[Any], Sequence[Any], Any], list[Any]]


def _column_preparer(field: Any, prepare: Preparer) -> ColumnPreparer:
    """`_preparer` for a whole column of a multi-row INSERT: the column's values (read
    from the instances beforehand) are checked at C speed where the ORM would change
    nothing, and only the others go through the field."""
    target = field.target_field if type(field) in _RELATIONS else field
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        if type(field) in _CLOCK_FIELDS:
            return partial(_prepare_now, field)
        return lambda instances, column, db: [prepare(instance, db) for instance in instances]
    if type(target) is models.DateTimeField:

        def prepare_datetimes(
            instances: Sequence[Any], column: Sequence[Any], db: Any
        ) -> list[Any]:
            if db.vendor == "postgresql":
                return [
                    value if value is None or (type(value) is datetime and value.tzinfo is UTC)
                    else prepare(instance, db)
                    for instance, value in zip(instances, column, strict=True)
                ]  # fmt: skip
            return [
                None if value is None
                else _sqlite_text(value)
                if type(value) is datetime and value.tzinfo is UTC
                else prepare(instance, db)
                for instance, value in zip(instances, column, strict=True)
            ]  # fmt: skip

        return prepare_datetimes
    if type(target) is models.JSONField:
        # SQLite stores the text of `json.dumps(value, cls=encoder)`; one encoder for the
        # whole column instead of one per value. PostgreSQL adapts JSON in its driver,
        # except text encoded already (`JsonText`), which the statement casts.
        encode = (target.encoder or json.JSONEncoder)().encode

        def prepare_json(instances: Sequence[Any], column: Sequence[Any], db: Any) -> list[Any]:
            if db.vendor != "sqlite":
                return [
                    value if type(value) is JsonText else prepare(instance, db)
                    for instance, value in zip(instances, column, strict=True)
                ]
            return [
                None if value is None
                else encode(value) if type(value) in (dict, list)
                else value if type(value) is JsonText
                else prepare(instance, db)
                for instance, value in zip(instances, column, strict=True)
            ]  # fmt: skip

        return prepare_json
    plain = _PLAIN_TYPES.get(type(target))
    if plain is None:
        return lambda instances, column, db: [prepare(instance, db) for instance in instances]
    allowed = {*plain, type(None)}
    # Text fields give any `str` back as it is (`to_python`), choices' members included.
    is_text = plain == (str,)

    def prepare_plain(instances: Sequence[Any], column: Sequence[Any], db: Any) -> list[Any]:
        types = set(map(type, column))
        if types <= allowed or (is_text and all(issubclass(t, (str, type(None))) for t in types)):
            return list(column)
        return [
            value if value is None or type(value) in plain else prepare(instance, db)
            for instance, value in zip(instances, column, strict=True)
        ]

    return prepare_plain


# Time fields whose `pre_save()` for a new row reads a clock and nothing of the row.
_CLOCK_FIELDS = (models.DateTimeField, ClockDateTimeField)


def _prepare_now(field: Any, instances: Sequence[Any], column: Sequence[Any], db: Any) -> list[Any]:
    """An `auto_now(_add)` time column of new rows: what `pre_save()` does for each row (the
    time now, set on the instance), with one clock reading and one conversion for all."""
    if not instances:
        return []
    now = field.pre_save(instances[0], add=True)
    for instance in instances[1:]:
        setattr(instance, field.attname, now)
    return [field.get_db_prep_save(now, db)] * len(instances)


def value_preparer(field: Any, db: Any) -> Callable[[Any], Any]:
    """`field.get_db_prep_save(value, db)` for one value at a time, with the shortcuts the
    multi-row INSERTs take where the ORM's conversion would change nothing: a UTC time, a
    dict or list for a JSON column (encoded at once), a plain value of its type. For
    fields without `auto_now` (no `pre_save`)."""
    slow = partial(field.get_db_prep_save, connection=db)
    if type(field) in _CLOCK_FIELDS:
        if db.vendor == "sqlite":
            return lambda v: _sqlite_text(v) if type(v) is datetime and v.tzinfo is UTC else slow(v)
        return lambda v: v if type(v) is datetime and v.tzinfo is UTC else slow(v)
    if type(field) is models.JSONField and db.vendor == "sqlite":
        encode = (field.encoder or json.JSONEncoder)().encode
        return lambda v: encode(v) if type(v) in (dict, list) else slow(v)
    plain = _PLAIN_TYPES.get(type(field))
    if plain is not None:
        return lambda v: v if v is None or type(v) in plain else slow(v)
    return slow


@cache
def _column_plan(
    model: type[Model], with_pk: bool
) -> tuple[Callable[[Any], tuple[Any, ...]], tuple[ColumnPreparer, ...]]:
    fields, preparers = _insert_plan(model, with_pk)
    names = [f.attname for f in fields]
    getter = attrgetter(*names) if len(names) > 1 else (lambda row: (getattr(row, names[0]),))
    return getter, tuple(_column_preparer(f, p) for f, p in zip(fields, preparers, strict=True))


def _prepared_columns(
    model: type[Model], with_pk: bool, instances: Sequence[Any], db: Any
) -> list[list[Any]]:
    """The parameters of a multi-row INSERT, column by column."""
    getter, preparers = _column_plan(model, with_pk)
    columns = zip(*map(getter, instances), strict=True)
    return [
        prepare(instances, column, db) for prepare, column in zip(preparers, columns, strict=True)
    ]


def _row(instance: Model, preparers: tuple[Preparer, ...], db: Any) -> list[Any]:
    return [prepare(instance, db) for prepare in preparers]


@cache
def _insert_statement(model: type[Model], vendor: str) -> tuple[str, tuple[Preparer, ...]]:
    quote = connection.ops.quote_name
    fields, preparers = _insert_plan(model)
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders}) "
        f"RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, preparers


def _db_for(model: type[Model]) -> Any:
    """The model's database as the routers say (the intake queue has its own on SQLite)."""
    return connections[router.db_for_write(model)]


def insert(instance: M) -> M:
    """INSERT one new instance (pk unset) and set its pk, like `save()` for a new row."""
    # The thread's own connection object: `django.db.connection` is a proxy whose every
    # attribute access goes through a context-local lookup, once per field otherwise.
    db = _db_for(type(instance))
    model = type(instance)
    sql, preparers = _insert_statement(model, db.vendor)
    params = _row(instance, preparers, db)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = db.alias
    return instance


def insert_if_absent(instance: M) -> bool:
    """INSERT one new instance unless a unique constraint already holds such a row
    (`ON CONFLICT DO NOTHING`); sets its pk and returns True if it was inserted."""
    db = _db_for(type(instance))
    model = type(instance)
    sql, preparers = _insert_statement(model, db.vendor)
    sql = sql.replace(" RETURNING ", " ON CONFLICT DO NOTHING RETURNING ")
    params = _row(instance, preparers, db)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = db.alias
    return True


class JsonText(str):
    """A JSON column's value as JSON text already (e.g. the spelling that was hashed): the
    INSERTs here store it as it is instead of encoding it again."""


def insert_many(
    instances: Sequence[Any],
    *,
    batch_size: int = 500,
    model: type[Model] | None = None,
    with_pk: bool = False,
) -> None:
    """INSERT new instances of one model in multi-row statements (their pks stay unset,
    unless `with_pk`: then each row's own key is written, e.g. one reserved beforehand).
    With `model`, the rows may be any objects with its fields' attributes (no instances)."""
    if not instances:
        return
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "sqlite":
        # One prepared single-row INSERT stepped for every row (in the driver): cheaper
        # than a statement of thousands of placeholders the backend must rewrite first.
        model = model or type(instances[0])
        statement, _params = insert_rows_statement(instances[:1], model=model, with_pk=with_pk)
        columns = _prepared_columns(model, with_pk, instances, db)
        with db.cursor() as cursor:
            cursor.executemany(statement, list(zip(*columns, strict=True)))
        return
    with array_cursor() as cursor:
        for start in range(0, len(instances), batch_size):
            chunk = instances[start : start + batch_size]
            cursor.execute(*insert_rows_statement(chunk, model=model, with_pk=with_pk))


def insert_rows_statement(
    instances: Sequence[Any], *, model: type[Model] | None = None, with_pk: bool = False
) -> tuple[str, list[Any]]:
    """The multi-row INSERT of `insert_many()` as one statement and its parameters, for a
    caller that sends it together with another (e.g. inside a PostgreSQL `WITH`), through
    `array_cursor()` or `execute_with_arrays()`."""
    db = connections[DEFAULT_DB_ALIAS]
    model = model or type(instances[0])
    quote = db.ops.quote_name
    fields, _preparers = _insert_plan(model, with_pk)
    table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    prepared = _prepared_columns(model, with_pk, instances, db)
    if db.vendor == "postgresql" and len(instances) > 1:
        # One array per column (as the ORM's bulk_create does): the statement stays short
        # whatever the number of rows, so the driver parses it once and then knows it. A
        # VALUES list of hundreds of placeholders is parsed anew for every batch.
        arrays = ", ".join(f"%b::{db_type}[]" for db_type in _array_types(model, with_pk))
        statement = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})"
        return statement, prepared
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [value for values in zip(*prepared, strict=True) for value in values]
    return f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row] * len(instances)), params


@cache
def _array_types(model: type[Model], with_pk: bool = False) -> tuple[str, ...]:
    fields, _preparers = _insert_plan(model, with_pk)
    return tuple(_array_type(f) for f in fields)


def _array_type(field: Any) -> str:
    # Without the length ("varchar", not "varchar(60)"): the column checks the values.
    return field.db_type(connection).split("(")[0]


def insert_returning(instances: Sequence[Model], *, batch_size: int = 500) -> None:
    """INSERT new instances of one model in multi-row statements and set their pks.

    The rows are inserted in the order given, and each takes the next key of its table, so
    the statement's keys in ascending order belong to the instances in order — whatever
    order RETURNING gives them in (SQLite promises none). Instances of a database that
    cannot return rows get one INSERT each."""
    if not instances:
        return
    db = connections[DEFAULT_DB_ALIAS]
    if not db.features.can_return_rows_from_bulk_insert:
        for instance in instances:
            insert(instance)
        return
    pk_column = db.ops.quote_name(type(instances[0])._meta.pk.column)
    with array_cursor() as cursor:
        for start in range(0, len(instances), batch_size):
            chunk = instances[start : start + batch_size]
            statement, params = insert_rows_statement(chunk)
            cursor.execute(f"{statement} RETURNING {pk_column}", params)
            keys = sorted(key for (key,) in cursor.fetchall())
            if len(keys) != len(chunk):
                raise RuntimeError(f"INSERT returned {len(keys)} keys for {len(chunk)} rows")
            for instance, key in zip(chunk, keys, strict=True):
                instance.pk = key
                instance._state.adding = False
                instance._state.db = db.alias


_CALLED = object()  # marks a default that is made afresh for each row


@cache
def _defaults(model: type[Model]) -> tuple[tuple[str, Any, Callable[[], Any] | None], ...]:
    """Each field's attname with its default: a value every row shares (a constant, None,
    "" — what `get_default()` gives each time), or `_CALLED` and the function making it
    (dict, now(), a database default's expression)."""
    defaults = []
    for field in model._meta.concrete_fields:
        if (field.has_default() and callable(field.default)) or field.has_db_default():
            defaults.append((field.attname, _CALLED, field.get_default))
        else:
            defaults.append((field.attname, field.get_default(), None))
    return tuple(defaults)


def new_row(model: type[M], **values: Any) -> M:
    """A new, unsaved instance as `model(**values)` makes it — each field's default where
    no value is given — without `Model.__init__`'s work per field (a third of building a
    case on the intake's path): for rows the hot paths build by the hundred and insert with
    these helpers. Values go by attname (`case_id`, not `case`; see `relate()`); the
    model's init signals are not sent."""
    instance = model.__new__(model)
    instance._state = ModelState()
    fields = instance.__dict__
    for attname, shared, make in _defaults(model):
        if attname in values:
            fields[attname] = values.pop(attname)
        else:
            fields[attname] = make() if shared is _CALLED and make else shared
    if values:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(values))}")
    return instance


def relate(instance: M, **related: Model | None) -> M:
    """Point the new `instance`'s foreign keys at the given objects, as `instance.key = obj`
    would, without asking the database routers (twice per key: a tenth of building a row on
    the intake's path). For rows of the database their related objects live in."""
    for name, value in related.items():
        field = instance._meta.get_field(name)
        setattr(instance, field.attname, None if value is None else value.pk)
        field.set_cached_value(instance, value)
    return instance


def create(model: type[M], **values: Any) -> M:
    return insert(model(**values))


def array_cursor() -> Any:
    """A cursor for statements whose parameters are whole columns (PostgreSQL arrays, as
    `unnest()` takes them, written `%b::type[]`): on PostgreSQL bound on the server, the
    arrays sent in binary. Django's default cursor binds on the client, quoting every
    element into the statement text in Python — more work than the database's for the
    rows of a batch."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        return db.cursor()
    import psycopg

    db.ensure_connection()
    db.validate_no_broken_transaction()
    cursor = psycopg.Cursor(db.connection)
    # Wrapped as Django wraps its own, so its execute wrappers and query log see it.
    return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)


def fetch_one_prepared(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """`fetch_one()` for a statement run again and again: on PostgreSQL bound on the
    server, where the driver prepares it after a few runs, so the server plans it once; on
    SQLite run on a plain cursor of the connection, its placeholders converted once (a
    Django cursor — made anew for each statement, thread checks, the placeholders converted
    on every run — costs several times an indexed look-up). Execute wrappers still see it;
    with queries logged (DEBUG) it goes the usual way."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "sqlite" or db.queries_logged:
        with array_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    if db.connection is None:
        db.ensure_connection()
    cursor = db.connection.cursor()
    statement = _qmark_style(sql)

    def execute(_sql: str, params: Sequence[Any], _many: bool, _context: Any) -> Any:
        return cursor.execute(statement, params)

    for wrapper in reversed(db.execute_wrappers):
        execute = partial(wrapper, execute)
    try:
        with db.wrap_database_errors:
            execute(sql, params, False, {"connection": db, "cursor": cursor})
            return cursor.fetchone()
    finally:
        cursor.close()


@cache
def _qmark_style(sql: str) -> str:
    """SQLite's placeholders for Django's, as Django's SQLite cursor converts them."""
    from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


def execute_with_arrays(sql: str, params: Sequence[Any]) -> int:
    """`execute()` for a statement whose parameters are arrays (see `array_cursor`)."""
    with array_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


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
    model: type[Model], alias: str, vendor: str, only: tuple[str, ...] | None = None
) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    if only is not None:
        fields = [f for f in fields if f.attname in only or f.name in only]
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
    model: type[M],
    sql_template: str,
    params: Sequence[Any],
    *,
    alias: str = "t",
    only: tuple[str, ...] | None = None,
) -> list[M]:
    """Instances of `model` from a hand-written query. `sql_template` contains `{columns}`
    where the model's columns go, e.g. "SELECT {columns} FROM customers_customer t WHERE …".
    `only`: just these fields are read (the others are deferred, as `QuerySet.only()`
    leaves them: read when first used)."""
    db = _db_for(model)
    columns, attnames, converters = _select_plan(model, alias, db.vendor, only)
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
    db = _db_for(type(instance))
    sql, model_fields = _update_statement(type(instance), tuple(fields), db.vendor)
    params = [f.get_db_prep_save(f.pre_save(instance, add=False), db) for f in model_fields]
    params.append(instance.pk)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def reserve_keys(model: type[Model], count: int) -> list[int]:
    """`count` primary keys of `model`'s table that no other insert will take, for rows a
    caller names before it writes them (a single writer that writes behind). PostgreSQL
    takes them from the column's sequence; SQLite moves its AUTOINCREMENT counter on."""
    db = connections[DEFAULT_DB_ALIAS]
    table, column = model._meta.db_table, model._meta.pk.column
    if db.vendor == "postgresql":
        rows = fetch_all(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return sorted(key for (key,) in rows)
    quote = db.ops.quote_name
    with transaction.atomic():
        counter = fetch_one("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        highest = fetch_one(f"SELECT MAX({quote(column)}) FROM {quote(table)}", [])
        start = max(counter[0] if counter else 0, (highest[0] if highest else None) or 0)
        statement = (
            "UPDATE sqlite_sequence SET seq = %s WHERE name = %s"
            if counter
            else "INSERT INTO sqlite_sequence (seq, name) VALUES (%s, %s)"
        )
        execute(statement, [start + count, table])
    return list(range(start + 1, start + count + 1))


def update_many(model: type[Model], fields: Sequence[str], rows: Sequence[Any]) -> None:
    """UPDATE the named fields of many stored rows by their pks, each to its own values:
    one statement on PostgreSQL (the rows' values as arrays), one prepared statement run
    for every row elsewhere. The rows may be any objects with the fields' attributes and
    the pk's."""
    if not rows:
        return
    db = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    targets = tuple(meta.get_field(name) for name in fields)
    pk = meta.pk
    preparers = tuple(_preparer(f) for f in (*targets, pk))
    values = [[prepare(row, db) for prepare in preparers] for row in rows]
    quote = db.ops.quote_name
    table = quote(meta.db_table)
    with array_cursor() as cursor:
        if db.vendor == "postgresql":
            names = [f"v{i}" for i in range(len(targets))]
            arrays = ", ".join(f"%b::{_array_type(f)}[]" for f in (*targets, pk))
            assignments = ", ".join(
                f"{quote(f.column)} = v.{name}" for f, name in zip(targets, names, strict=True)
            )
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM unnest({arrays}) "
                f"AS v({', '.join(names)}, pk) WHERE {table}.{quote(pk.column)} = v.pk",
                [list(column) for column in zip(*values, strict=True)],
            )
            return
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in targets)
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {quote(pk.column)} = %s", values
        )


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
