"""The phone bar of the agent desk, through its views: presence in one click, the screen
pop (the caller's contracts and open cases, or the new-caller form), the running call,
filing it under a case, and the wrap-up that ends after-call work."""

from __future__ import annotations

import pytest
from django.test import Client

from casework.cases.models import CaseType
from casework.channels.phone.models import Call
from casework.customers.models import Customer
from casework.events.models import Event
from casework.interactions.models import Interaction
from casework.routing.models import AgentStatus, WorkItem, WorkItemStatus
from tests.factories import CaseFactory, ContractFactory, ProductFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def anna(line_agent):  # noqa: ANN001, ANN201
    return line_agent("201")


@pytest.fixture
def desk(anna) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(anna.user)
    return client


def test_the_bar_switches_presence_in_one_click(desk, anna):  # noqa: ANN001
    page = desk.get("/phone/bar/").content.decode()
    assert 'value="break"' in page

    response = desk.post("/phone/presence/", {"state": "break"}, **HTMX)

    assert response.status_code == 200
    assert AgentStatus.objects.get(agent=anna).presence_id == "break"
    assert 'value="available"' in response.content.decode()


def test_on_the_chat_console_the_bar_leaves_presence_to_the_console(desk):  # noqa: ANN001
    page = desk.get(
        "/phone/bar/", HTTP_HX_CURRENT_URL="http://testserver/chat/console/", **HTMX
    ).content.decode()

    assert 'id="phone-bar"' in page and 'value="break"' not in page


def test_a_system_state_cannot_be_chosen(desk, anna):  # noqa: ANN001
    response = desk.post("/phone/presence/", {"state": "busy"}, **HTMX)

    assert response.status_code == 422
    assert AgentStatus.objects.get(agent=anna).presence_id == "available"


def test_the_screen_pop_shows_the_callers_contracts_and_open_cases(desk, post_event, helmut, anna):  # noqa: ANN001
    case = CaseFactory(customer=helmut, subject="Smartphone-Angebot aus der Broschüre")
    anna.teams.add(case.queue.team)
    ContractFactory(customer=helmut, product=ProductFactory(code="mobil-m", name_en="Mobile M"))
    CaseFactory(customer=helmut)  # another department's: counted, not shown
    post_event("new_call", caller="030 23456789")

    page = desk.get("/phone/bar/").content.decode()

    assert "Incoming call" in page
    assert "Helmut Berger" in page and case.subject in page
    assert "030 23456789" in page
    assert "Mobile M" in page
    assert "and 1 open case in another department" in page
    assert "/phone/offers/" in page  # accept / decline


def test_an_unknown_caller_is_registered_from_the_pop(desk, post_event):  # noqa: ANN001
    post_event("new_call", caller="0171 5550000")
    assert "New caller" in desk.get("/phone/bar/").content.decode()
    call = Call.objects.get()

    desk.post(
        f"/phone/calls/{call.pk}/caller/",
        {"first_name": "Gisela", "last_name": "Neu", "email": "gisela@example.de"},
        **HTMX,
    )

    customer = Customer.objects.get(last_name="Neu")
    call.refresh_from_db()
    assert call.customer == customer
    assert Interaction.objects.get().customer == customer
    assert WorkItem.objects.get().customer == customer
    assert customer.identifiers.filter(kind="phone", value="+491715550000").exists()


def test_a_new_caller_needs_a_name(desk, post_event):  # noqa: ANN001
    post_event("new_call", caller="0171 5550000")
    call = Call.objects.get()

    response = desk.post(f"/phone/calls/{call.pk}/caller/", {"first_name": " "}, **HTMX)

    assert response.status_code == 422
    assert not Customer.objects.exists()


def test_the_call_is_filed_wrapped_up_and_after_call_work_ends(
    desk, post_event, helmut, anna, test_clock
):  # noqa: ANN001
    case = CaseFactory(customer=helmut)
    anna.teams.add(case.queue.team)
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")
    call = Call.objects.get()

    talking = desk.get("/phone/bar/").content.decode()
    assert "In conversation" in talking and "call-timer" in talking
    desk.post(f"/phone/calls/{call.pk}/case/", {"case": case.pk}, **HTMX)
    too_early = desk.post(f"/phone/calls/{call.pk}/wrap-up/", {"code": "order"}, **HTMX)
    test_clock.advance(90)
    post_event("hangup")
    assert AgentStatus.objects.get(agent=anna).presence_id == "after_call_work"
    test_clock.advance(15)

    wrapping = desk.get("/phone/bar/").content.decode()
    response = desk.post(
        f"/phone/calls/{call.pk}/wrap-up/",
        {"code": "order", "note": "Vertrag gebucht"},
        **HTMX,
    )

    assert too_early.status_code == 409
    assert "Wrap up the call" in wrapping
    assert response.status_code == 200 and "Wrap up the call" not in response.content.decode()
    call.refresh_from_db()
    assert call.case == case and call.wrap_up.code == "order" and call.after_work_seconds == 15
    interaction = Interaction.objects.get()
    assert interaction.case == case and interaction.text == "Vertrag gebucht"
    assert interaction.payload["after_work_seconds"] == 15
    assert AgentStatus.objects.get(agent=anna).presence_id == "available"
    assert Event.objects.filter(code="call.wrapped_up").count() == 1


def test_a_new_case_is_opened_for_the_call(desk, post_event, helmut, engine, anna):  # noqa: ANN001
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")
    call = Call.objects.get()
    case_type = CaseType.objects.filter(is_active=True).first()

    response = desk.post(
        f"/phone/calls/{call.pk}/new-case/",
        {"case_type": case_type.code, "subject": "Tarif ohne Daten"},
        **HTMX,
    )

    call.refresh_from_db()
    assert response.status_code == 204 and response["HX-Redirect"] == f"/cases/{call.case_id}/"
    assert call.case.owner == anna and call.case.customer == helmut
    assert Interaction.objects.get().case == call.case


def test_someone_elses_call_cannot_be_touched(post_event, helmut, line_agent):  # noqa: ANN001
    line_agent("201")
    intruder = line_agent("299", presence="break")
    post_event("new_call", caller="030 23456789")
    post_event("answered", agent="201")
    call = Call.objects.get()
    client = Client()
    client.force_login(intruder.user)

    response = client.post(f"/phone/calls/{call.pk}/wrap-up/", {"code": "order"}, **HTMX)

    assert response.status_code == 403


def test_accepting_in_the_desk_then_the_phone_answering(desk, post_event, helmut, anna):  # noqa: ANN001
    post_event("new_call", caller="030 23456789")
    item = WorkItem.objects.get()

    desk.post(f"/phone/offers/{item.pk}/accept/", **HTMX)
    post_event("answered")

    item.refresh_from_db()
    assert item.status == WorkItemStatus.ACCEPTED and item.agent == anna
    assert Call.objects.get().agent == anna


def test_a_state_from_an_earlier_day_shows_its_date(desk, anna, test_clock):  # noqa: ANN001
    test_clock.advance(86400)

    page = desk.get("/phone/bar/").content.decode()

    assert "since 11/30/2026" in page  # set yesterday (en: month/day/year)
