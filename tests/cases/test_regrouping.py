"""Linking a case to its customer, merging, splitting and forwarding cases."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.cases.models import Case, CaseStatus, Task, TaskStatus
from casework.cases.regrouping import (
    CannotRegroup,
    forward_case,
    link_customer,
    merge_cases,
    split_off,
)
from casework.cases.services import add_note, assign_case
from casework.customers.models import CustomerIdentifier
from casework.events.models import Event
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.services import ingest
from casework.interactions.models import Interaction
from tests.factories import CustomerFactory, IdentifierFactory, QueueFactory

pytestmark = pytest.mark.django_db

RECEIVED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def mail(external_id: str, address: str = "unbekannt@example.de", **kwargs) -> InboundMessage:
    defaults = dict(
        channel="email",
        external_id=external_id,
        received_at=RECEIVED,
        sender=(SenderIdentifier("email", address),),
        sender_name="Jemand Unbekannt",
        subject="Frage zur Abrechnung",
        text="Guten Tag, ich habe eine Frage.",
    )
    defaults.update(kwargs)
    return InboundMessage(**defaults)


@pytest.fixture
def identify_queue(email_intake):  # noqa: ANN001, ANN201
    return QueueFactory(code="identify-customer", team=email_intake.case_type.default_queue.team)


def test_unknown_sender_waits_in_the_identify_queue_without_a_provisional_customer(
    identify_queue, email_intake
):
    result = ingest(mail("<u1@example.de>", unknown_sender_queue="identify-customer"))

    assert result.case.customer is None
    assert result.case.queue == identify_queue
    assert result.interaction.payload["sender_identifiers"] == [
        {"kind": "email", "value": "unbekannt@example.de"}
    ]
    assert not CustomerIdentifier.objects.filter(value="unbekannt@example.de").exists()


def test_known_sender_is_not_held_for_identification(identify_queue, email_intake):
    known = IdentifierFactory(kind="email", value="helmut@example.de")

    result = ingest(
        mail(
            "<k1@example.de>", address="helmut@example.de", unknown_sender_queue="identify-customer"
        )
    )

    assert result.case.customer_id == known.customer_id
    assert result.case.queue == email_intake.case_type.default_queue


def test_linking_gives_case_contacts_and_address_to_the_customer_and_moves_the_case_on(
    identify_queue, email_intake, agent_actor
):
    held = ingest(mail("<u2@example.de>", unknown_sender_queue="identify-customer")).case
    customer = CustomerFactory()

    linked = link_customer(held, customer, actor=agent_actor)

    assert linked.customer_id == customer.pk
    assert linked.queue == email_intake.case_type.default_queue
    assert set(Interaction.objects.filter(case=held).values_list("customer_id", flat=True)) == {
        customer.pk
    }
    assert customer.identifiers.filter(kind="email", value="unbekannt@example.de").exists()
    # The next mail from that address is recognised.
    again = ingest(mail("<u3@example.de>", subject="Noch eine Frage"))
    assert again.customer_match == "matched" and again.case.customer_id == customer.pk
    event = Event.objects.get(code="case.customer_linked")
    assert event.payload["identifiers_added"] == ["email:unbekannt@example.de"]


def test_linking_skips_an_address_another_customer_has(identify_queue, email_intake, agent_actor):
    held = ingest(mail("<u4@example.de>", unknown_sender_queue="identify-customer")).case
    # Meanwhile someone else got the address (e.g. by an import).
    other = IdentifierFactory(kind="email", value="unbekannt@example.de")
    customer = CustomerFactory()

    link_customer(held, customer, actor=agent_actor)

    assert CustomerIdentifier.objects.get(value="unbekannt@example.de").customer_id == (
        other.customer_id
    )


def test_a_case_with_a_customer_cannot_be_linked_again(email_intake, agent_actor):
    case = ingest(mail("<c1@example.de>")).case

    with pytest.raises(CannotRegroup):
        link_customer(case, CustomerFactory(), actor=agent_actor)


def test_merge_moves_contacts_closes_the_source_and_later_mail_reaches_the_target(
    email_intake, agent_actor
):
    first = ingest(mail("<a@example.de>", subject="Rechnung falsch")).case
    second = ingest(mail("<b@example.de>", subject="Nochmal: Rechnung falsch")).case
    assert first.pk != second.pk

    target = merge_cases(second, first, actor=agent_actor)

    second.refresh_from_db()
    assert second.status == CaseStatus.CLOSED and second.merged_into_id == first.pk
    assert Interaction.objects.filter(case=second).count() == 0
    assert Interaction.objects.filter(case=target, channel="email").count() == 2
    assert not Task.objects.filter(case=second, status=TaskStatus.OPEN).exists()
    assert Task.objects.filter(case=target, status__in=["open", "in_progress"]).count() == 1
    # A reply quoting the old reference lands in the surviving case.
    reply = ingest(mail("<c@example.de>", subject=f"Re: [{second.reference}] Rechnung"))
    assert reply.case.pk == first.pk


def test_cases_of_different_customers_are_not_merged(email_intake, agent_actor):
    one = ingest(mail("<d@example.de>", address="eins@example.de")).case
    two = ingest(mail("<e@example.de>", address="zwei@example.de")).case

    with pytest.raises(CannotRegroup):
        merge_cases(one, two, actor=agent_actor)
    with pytest.raises(CannotRegroup):
        merge_cases(one, one, actor=agent_actor)
    assert Case.objects.get(pk=one.pk).status == CaseStatus.NEW


def test_split_off_moves_one_contact_into_a_new_case(email_intake, agent_actor):
    case = ingest(mail("<f@example.de>", subject="Rechnung")).case
    second = ingest(
        mail("<g@example.de>", subject=f"[{case.reference}] Außerdem: Umzug", text="Ich ziehe um.")
    ).interaction

    new_case = split_off(second, subject="Umzug", actor=agent_actor)

    assert new_case.pk != case.pk and new_case.customer_id == case.customer_id
    assert Interaction.objects.get(pk=second.pk).case_id == new_case.pk
    assert new_case.subject == "Umzug"
    assert Task.objects.filter(case=new_case).count() == 1
    notes = Interaction.objects.filter(case=case, channel="note").values_list("text", flat=True)
    assert any(new_case.reference in text for text in notes)


def test_the_only_contact_of_a_case_cannot_be_split_off(email_intake, agent_actor):
    result = ingest(mail("<h@example.de>"))
    add_note(result.case, "Rückruf vereinbart", actor=agent_actor)

    with pytest.raises(CannotRegroup):
        split_off(result.interaction, actor=agent_actor)


def test_forward_hands_the_case_with_a_note_to_another_queue(email_intake, agent, agent_actor):
    case = ingest(mail("<i@example.de>")).case
    second_level = QueueFactory(code="second-level")

    assign_case(case, agent, actor=agent_actor)

    forwarded = forward_case(case, second_level, note="Bitte Tarif prüfen", actor=agent_actor)

    assert forwarded.queue == second_level and forwarded.owner_id is None
    assert forwarded.tier == second_level.team.tier
    open_tasks = Task.objects.filter(case=case, status__in=["open", "in_progress"])
    assert [(t.queue_id, t.assignee_id, t.status) for t in open_tasks] == [
        (second_level.pk, None, "open")
    ]
    note = Interaction.objects.filter(case=case, channel="note").latest("pk")
    assert "Bitte Tarif prüfen" in note.text
    assert Event.objects.filter(code="case.forwarded", object_id=case.pk).exists()
