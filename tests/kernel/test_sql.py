"""The lean statements of `kernel.sql` store what the ORM's `save()` would store."""

from __future__ import annotations

import datetime as dt
import enum

import pytest

from casework.cases.models import Case, CaseStatus, Priority, Task, TaskStatus
from casework.channels.email.models import Mailbox
from casework.interactions.models import Interaction
from casework.kernel import sql
from tests.factories import CaseFactory, CaseTypeFactory, CustomerFactory

pytestmark = pytest.mark.django_db


class Colour(enum.StrEnum):
    RED = "red"


def test_an_inserted_row_reads_back_as_the_orm_stores_it():
    customer = CustomerFactory()
    case_type = CaseTypeFactory()
    case = sql.insert(
        Case(
            reference="CW-2026-900001",
            case_type=case_type,
            service_type="support",
            status=CaseStatus.NEW,  # a choices member, not a plain str
            priority=Priority.HIGH,
            tier=1,
            customer_id=customer.pk,
            queue=case_type.default_queue,
            subject="Vertrag",
            data={"a": [1, "ü"]},
            last_activity_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
        )
    )

    stored = Case.objects.get(pk=case.pk)
    assert (stored.status, stored.priority, stored.customer_id) == (
        "new",
        Priority.HIGH,
        customer.pk,
    )
    assert stored.data == {"a": [1, "ü"]}
    assert stored.last_activity_at == dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    assert stored.created_at is not None  # auto_now_add, set as `save()` sets it


def test_a_subclassed_field_is_converted_by_its_own_code():
    case_type = CaseTypeFactory()
    mailbox = sql.insert(
        Mailbox(
            address="service@example.de",
            display_name="Service",
            case_type=case_type,
            imap_password="geheim",
        )
    )

    raw = sql.fetch_one(
        f"SELECT imap_password FROM {Mailbox._meta.db_table} WHERE id = %s", [mailbox.pk]
    )
    assert raw is not None and raw[0] != "geheim"  # encrypted on the way in
    assert Mailbox.objects.get(pk=mailbox.pk).imap_password == "geheim"


def test_a_value_of_another_type_goes_through_the_fields_conversion():
    case = CaseFactory()
    interaction = sql.insert(
        Interaction(
            case=case,
            channel="email",
            direction="inbound",
            occurred_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
            subject=Colour.RED,  # a str subclass: stored as its value
            external_id=12345,  # an int for a text column: stored as text
        )
    )

    stored = Interaction.objects.get(pk=interaction.pk)
    assert stored.subject == "red" and stored.external_id == "12345"


def test_insert_returning_sets_each_instance_its_own_key():
    case = CaseFactory()
    rows = [
        Interaction(
            case=case,
            channel="email",
            direction="inbound",
            occurred_at=dt.datetime(2026, 11, 2, 9, n, tzinfo=dt.UTC),
            external_id=f"<m{n}@x>",
        )
        for n in range(5)
    ]

    sql.insert_returning(rows, batch_size=2)

    stored = dict(Interaction.objects.values_list("external_id", "pk"))
    assert [row.pk for row in rows] == [stored[f"<m{n}@x>"] for n in range(5)]
    assert all(not row._state.adding for row in rows)


def test_json_of_a_multi_row_insert_is_stored_as_the_orm_stores_it():
    from django.db import connection

    case = CaseFactory()
    values = [{"b": 1, "a": [1.5, "ü", True]}, ["x", {"n": None}]]
    at = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    for n, value in enumerate(values):
        Interaction.objects.create(
            case=case,
            channel="chat",
            direction="inbound",
            external_id=f"orm-{n}",
            payload=value,
            occurred_at=at,
        )
    sql.insert_many(
        [Interaction(case=case, channel="chat", direction="inbound", external_id=f"lean-{n}",
                     payload=value, occurred_at=at)
         for n, value in enumerate(values)],
        model=Interaction,
    )  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute("SELECT external_id, payload FROM interactions_interaction")
        stored = dict(cursor.fetchall())
    assert [stored[f"lean-{n}"] for n in range(2)] == [stored[f"orm-{n}"] for n in range(2)]


@pytest.mark.parametrize("rows", [1, 3])
def test_json_text_is_stored_as_the_value_it_spells_not_as_a_string(rows):  # noqa: ANN001
    case = CaseFactory()
    at = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)

    sql.insert_many(
        [Interaction(case=case, channel="chat", direction="inbound", external_id=f"t-{n}",
                     payload=sql.JsonText(f'{{"a":[1,"ü"],"n":{n}}}'), occurred_at=at)
         for n in range(rows)],
        model=Interaction,
    )  # fmt: skip

    stored = Interaction.objects.order_by("external_id").values_list("payload", flat=True)
    assert list(stored) == [{"a": [1, "ü"], "n": n} for n in range(rows)]
    assert Interaction.objects.filter(payload__n=rows - 1).count() == 1


def test_a_prepared_look_up_answers_as_the_usual_cursor_and_is_seen_by_execute_wrappers():
    from django.db import connection
    from django.db.utils import DatabaseError

    customer = CustomerFactory(first_name="Lisa")
    statement = (
        "SELECT first_name, (SELECT COUNT(*) FROM customers_customer WHERE first_name = %s)"
        " FROM customers_customer WHERE id = %s AND first_name LIKE '%%s%%' OR id = %s"
    )
    seen = []

    def counting(execute, sql_text, params, many, context):  # noqa: ANN001, ANN202
        seen.append(sql_text)
        return execute(sql_text, params, many, context)

    with connection.execute_wrapper(counting):
        assert sql.fetch_one_prepared(statement, ["Lisa", -1, customer.pk]) == ("Lisa", 1)
        assert sql.fetch_one_prepared(statement, ["Lisa", -1, -1]) is None
    assert sql.fetch_one(statement, ["Lisa", -1, customer.pk]) == ("Lisa", 1)
    assert seen == [statement, statement]
    with pytest.raises(DatabaseError):  # the database's errors as Django's
        sql.fetch_one_prepared("SELECT nothing FROM nowhere WHERE id = %s", [1])


@pytest.mark.parametrize("microsecond", [0, 250000, 1])
def test_a_utc_time_is_spelled_as_djangos_sqlite_backend_stores_it(microsecond):
    from django.db import connection

    value = dt.datetime(2026, 3, 29, 1, 30, 5, microsecond, tzinfo=dt.UTC)
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's text")
    assert sql._sqlite_text(value) == connection.ops.adapt_datetimefield_value(value)


def test_a_new_row_is_the_instance_the_model_would_make():
    case_type = CaseTypeFactory()
    values = {
        "reference": "CW-2026-900002",
        "case_type_id": case_type.pk,
        "service_type": "support",
        "status": CaseStatus.NEW,
        "priority": Priority.HIGH,
        "tier": 1,
        "queue_id": case_type.default_queue_id,
        "subject": "Vertrag",
        "last_activity_at": dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
    }
    lean, usual = sql.new_row(Case, **values), Case(**values)

    assert lean.__dict__.keys() - {"_state"} == usual.__dict__.keys() - {"_state"}
    for field in Case._meta.concrete_fields:
        assert getattr(lean, field.attname) == getattr(usual, field.attname), field.name
    assert lean.data == {} and lean.data is not sql.new_row(Case, **values).data  # own default
    assert lean._state.adding and lean._state.db is None
    with pytest.raises(TypeError, match="no field case_type"):
        sql.new_row(Case, case_type=case_type)


def test_related_objects_are_set_without_a_query():
    case_type = CaseTypeFactory()
    case = sql.relate(Case(subject="x"), case_type=case_type, queue=case_type.default_queue)

    assert case.case_type_id == case_type.pk and case.queue_id == case_type.default_queue_id
    assert case.case_type is case_type and case.queue is case_type.default_queue  # cached
    assert sql.relate(case, queue=None).queue_id is None


def test_rows_inserted_together_get_one_time_from_the_products_clock(monkeypatch):
    from casework.kernel import clock

    pinned = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: pinned)
    case = CaseFactory()
    rows = [
        sql.new_row(
            Interaction,
            case_id=case.pk,
            channel="email",
            direction="inbound",
            occurred_at=pinned,
            external_id=f"<t{n}@x>",
        )
        for n in range(3)
    ]
    tasks = [
        sql.new_row(Task, case_id=case.pk, queue_id=case.queue_id, title=f"t{n}", priority=2)
        for n in range(3)
    ]

    sql.insert_returning(rows)
    sql.insert_returning(tasks)

    assert len({row.recorded_at for row in rows}) == 1  # the system time, read once
    assert {task.created_at for task in tasks} == {pinned}  # ClockDateTimeField: the product's
    stored = Task.objects.filter(pk__in=[task.pk for task in tasks])
    assert set(stored.values_list("created_at", "updated_at")) == {(pinned, pinned)}


def test_a_column_of_choices_members_is_stored_as_their_values():
    case = CaseFactory()
    rows = [
        sql.new_row(
            Task,
            case_id=case.pk,
            queue_id=case.queue_id,
            title="t",
            priority=2,
            status=status,
        )
        for status in (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)
    ]

    sql.insert_returning(rows)

    assert list(Task.objects.order_by("pk").values_list("status", flat=True)) == [
        "open",
        "in_progress",
    ]


@pytest.mark.parametrize(
    ("model", "name", "value"),
    [
        (Case, "last_activity_at", dt.datetime(2026, 11, 2, 9, 30, 0, 250000, tzinfo=dt.UTC)),
        (
            Case,
            "last_activity_at",
            dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ),
        (Case, "last_activity_at", None),
        (Case, "data", {"a": [1, "ü", None], "b": {"c": 2.5}}),
        (Case, "data", [1, 2]),
        (Case, "subject", "Vertrag"),
        (Case, "status", CaseStatus.NEW),
        (Case, "tier", 2),
    ],
)
def test_one_value_is_prepared_as_the_orm_prepares_it(model, name, value):  # noqa: ANN001
    from django.db import connection

    field = model._meta.get_field(name)

    prepared = sql.value_preparer(field, connection)(value)

    def plain(value: object) -> object:
        return getattr(value, "obj", value)  # psycopg's JSON wrapper: what it wraps

    assert plain(prepared) == plain(field.get_db_prep_save(value, connection))


def test_a_selection_of_fields_reads_those_and_leaves_the_others_deferred(
    django_assert_num_queries,
):
    case = CaseFactory(subject="Zählerstand", data={"meter": 4711})
    template = f"SELECT {{columns}} FROM {Case._meta.db_table} t WHERE t.id = %s"

    with django_assert_num_queries(1):
        (only,) = sql.select(Case, template, [case.pk], only=("id", "subject", "data"))
        assert (only.pk, only.subject, only.data) == (case.pk, "Zählerstand", {"meter": 4711})
    assert only.get_deferred_fields() >= {"status", "created_at", "customer_id"}
    assert only.status == case.status  # read when first used, as QuerySet.only() does
