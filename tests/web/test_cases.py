"""The case screen and its forms: each change goes through its service (state and event),
works as a normal POST with a redirect and as htmx with a panel, and rejects bad input."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case, CaseStatus, Task, TaskStatus
from casework.events.models import Event
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.services import ingest
from casework.interactions.models import Interaction
from casework.routing.models import Agent
from tests.factories import AgentFactory, IdentifierFactory, InteractionFactory
from tests.web.conftest import CALL_AT, Helmut

HTMX = {"HTTP_HX_REQUEST": "true"}


def case_url(case: Case, name: str = "web:case") -> str:
    return reverse(name, kwargs={"case_id": case.pk})


def events(code: str, case: Case) -> list[Event]:
    return list(Event.objects.filter(code=code, object_type="case", object_id=case.pk))


def test_case_screen_shows_the_case_its_contacts_and_the_customer_360(
    signed_in: Client, helmut: Helmut
):
    response = signed_in.get(case_url(helmut.case))

    assert response.status_code == 200
    page = response.content.decode()
    assert helmut.case.reference in page
    assert "Frage zum Tarif" in page
    for label in ("E-mail", "Phone", "Chat"):
        assert f'<span class="channel-label">{label}</span>' in page
    assert "K00004711" in page
    assert "030 1234567" in page  # national format, not +49301234567
    assert "DE89 **** **** 3000" in page and "0532013000" not in page
    assert "19.99\xa0€" in page
    assert "Voice S" in page
    assert "Advertising by letter" in page
    assert "festnetz" in page


def test_case_screen_uses_german_formats_after_the_language_switch(
    signed_in: Client, helmut: Helmut
):
    signed_in.post("/i18n/setlang/", {"language": "de", "next": "/"})

    page = signed_in.get(case_url(helmut.case)).content.decode()

    assert '<html lang="de">' in page
    assert "19,99\xa0€" in page
    assert "25.11.2026 14:30" in page  # the chat, 13:30 UTC shown in Berlin time
    assert "Sprache S" in page


def test_case_screen_lists_candidates_when_the_customer_is_ambiguous(
    signed_in: Client, email_intake
):
    first = IdentifierFactory(kind="email", value="anna@example.de").customer
    second = IdentifierFactory(kind="customer_number", value="K-555").customer
    # One message whose identifiers point at two customers: intake does not guess.
    result = ingest(
        InboundMessage(
            channel="email",
            external_id="ambiguous-1",
            received_at=CALL_AT,
            sender=(
                SenderIdentifier("email", "anna@example.de"),
                SenderIdentifier("customer_number", "K-555"),
            ),
            subject="Wer bin ich?",
        )
    )
    assert result.case.customer_id is None

    page = signed_in.get(case_url(result.case)).content.decode()

    assert "matched more than one customer" in page
    assert reverse("web:customer", kwargs={"customer_id": first.pk}) in page
    assert reverse("web:customer", kwargs={"customer_id": second.pk}) in page


def test_team_b_case_is_not_found_for_a_team_a_agent(signed_in: Client, other_team_case: Case):
    assert signed_in.get(case_url(other_team_case)).status_code == 404
    response = signed_in.post(case_url(other_team_case, "web:case_note"), {"text": "hallo"})
    assert response.status_code == 404
    assert not Interaction.objects.filter(case=other_team_case).exists()
    missing_id = Case.objects.order_by("-pk").first().pk + 1
    assert signed_in.get(reverse("web:case", kwargs={"case_id": missing_id})).status_code == 404


def test_adding_a_note_records_it_and_returns_to_the_case(signed_in: Client, helmut: Helmut):
    response = signed_in.post(
        case_url(helmut.case, "web:case_note"), {"text": "Kunde wünscht Rückruf."}
    )

    assert response.status_code == 302
    assert response["Location"] == case_url(helmut.case)
    note = Interaction.objects.get(case=helmut.case, channel="note")
    assert note.text == "Kunde wünscht Rückruf."
    assert len(events("case.note_added", helmut.case)) == 1
    page = signed_in.get(response["Location"]).content.decode()
    assert "Kunde wünscht Rückruf." in page and "Note added." in page


def test_adding_a_note_with_htmx_returns_the_notes_panel(signed_in: Client, helmut: Helmut):
    response = signed_in.post(
        case_url(helmut.case, "web:case_note"), {"text": "Per htmx notiert."}, **HTMX
    )

    assert response.status_code == 200
    panel = response.content.decode()
    assert 'id="case-notes"' in panel and "Per htmx notiert." in panel
    assert 'hx-swap-oob="true"' in panel and "Note added." in panel
    assert "<html" not in panel
    assert len(events("case.note_added", helmut.case)) == 1


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["post", "htmx"])
def test_an_empty_note_is_rejected_and_nothing_is_recorded(
    signed_in: Client, helmut: Helmut, headers: dict[str, str]
):
    response = signed_in.post(case_url(helmut.case, "web:case_note"), {"text": "  "}, **headers)

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not Interaction.objects.filter(case=helmut.case, channel="note").exists()
    assert events("case.note_added", helmut.case) == []


def test_changing_the_status_updates_the_case_and_records_the_change(
    signed_in: Client, helmut: Helmut
):
    response = signed_in.post(
        case_url(helmut.case, "web:case_status"), {"status": "pending"}, **HTMX
    )

    assert response.status_code == 200
    assert 'id="case-summary"' in response.content.decode()
    helmut.case.refresh_from_db()
    assert helmut.case.status == CaseStatus.PENDING
    [event] = events("case.updated", helmut.case)
    assert event.payload == {"before": {"status": "new"}, "after": {"status": "pending"}}


def test_resolved_is_not_a_status_the_status_form_accepts(signed_in: Client, helmut: Helmut):
    response = signed_in.post(case_url(helmut.case, "web:case_status"), {"status": "resolved"})

    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()
    helmut.case.refresh_from_db()
    assert helmut.case.status == CaseStatus.NEW


def test_changing_the_priority(signed_in: Client, helmut: Helmut):
    response = signed_in.post(case_url(helmut.case, "web:case_priority"), {"priority": "4"})

    assert response.status_code == 302
    helmut.case.refresh_from_db()
    assert helmut.case.priority == 4
    [event] = events("case.updated", helmut.case)
    assert event.payload["after"] == {"priority": 4}


def test_an_agent_takes_a_case_and_hands_it_back_to_the_queue(
    signed_in: Client, helmut: Helmut, agent: Agent
):
    signed_in.post(case_url(helmut.case, "web:case_assign"), {"agent": str(agent.pk)})
    helmut.case.refresh_from_db()
    assert helmut.case.owner_id == agent.pk and helmut.case.status == CaseStatus.OPEN

    response = signed_in.post(case_url(helmut.case, "web:case_assign"), {"agent": ""}, **HTMX)

    assert response.status_code == 200
    assert "The case is back in its queue." in response.content.decode()
    helmut.case.refresh_from_db()
    assert helmut.case.owner_id is None
    assert [e.payload["after"] for e in events("case.assigned", helmut.case)] == [
        {"owner_id": agent.pk},
        {"owner_id": None},
    ]


def test_an_agent_may_not_assign_a_colleague_and_is_told_so(
    signed_in: Client, helmut: Helmut, colleague: Agent
):
    url = case_url(helmut.case, "web:case_assign")

    response = signed_in.post(url, {"agent": str(colleague.pk), "next": case_url(helmut.case)})

    assert response.status_code == 302 and response["Location"] == case_url(helmut.case)
    page = signed_in.get(response["Location"]).content.decode()
    assert "You are not allowed to do this." in page
    assert "Only a supervisor may assign cases to other agents" in page

    response = signed_in.post(url, {"agent": str(colleague.pk)}, **HTMX)

    assert response.status_code == 403
    assert response["HX-Retarget"] == "#flash"
    assert "Only a supervisor may assign" in response.content.decode()
    helmut.case.refresh_from_db()
    assert helmut.case.owner_id is None
    assert events("case.assigned", helmut.case) == []


def test_a_supervisor_assigns_a_colleague(
    client: Client, helmut: Helmut, supervisor: Agent, colleague: Agent
):
    client.force_login(supervisor.user)

    response = client.post(case_url(helmut.case, "web:case_assign"), {"agent": str(colleague.pk)})

    assert response.status_code == 302
    helmut.case.refresh_from_db()
    assert helmut.case.owner_id == colleague.pk
    assert Task.objects.get(case=helmut.case).assignee_id == colleague.pk


def test_an_agent_outside_the_team_is_not_a_choice(
    signed_in: Client, helmut: Helmut, other_team_case: Case
):
    outsider = AgentFactory(teams=[other_team_case.queue.team])

    response = signed_in.post(case_url(helmut.case, "web:case_assign"), {"agent": outsider.pk})

    assert response.status_code == 422
    helmut.case.refresh_from_db()
    assert helmut.case.owner_id is None


def test_resolving_with_a_code_closes_the_tasks_and_shows_the_resolution(
    signed_in: Client, helmut: Helmut
):
    response = signed_in.post(
        case_url(helmut.case, "web:case_resolve"),
        {"resolution_code": "answered", "note": "Tarif umgestellt."},
        **HTMX,
    )

    # Resolving changes more than the summary (the 360 panel's open cases): htmx reloads.
    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"
    panel = signed_in.get(case_url(helmut.case, "web:case")).content.decode()
    assert "Answered" in panel and "Tarif umgestellt." in panel
    assert 'name="resolution_code"' not in panel  # no actions on a resolved case
    helmut.case.refresh_from_db()
    assert helmut.case.status == CaseStatus.RESOLVED
    assert helmut.case.resolution_code.code == "answered"
    assert set(Task.objects.filter(case=helmut.case).values_list("status", flat=True)) == {
        TaskStatus.DONE
    }
    [event] = events("case.resolved", helmut.case)
    assert event.payload["resolution_code"] == "answered"


def test_resolving_needs_a_resolution_code(signed_in: Client, helmut: Helmut):
    response = signed_in.post(case_url(helmut.case, "web:case_resolve"), {"note": "ohne Code"})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    helmut.case.refresh_from_db()
    assert helmut.case.status == CaseStatus.NEW


def test_resolving_a_resolved_case_again_is_a_conflict_banner(signed_in: Client, helmut: Helmut):
    url = case_url(helmut.case, "web:case_resolve")
    signed_in.post(url, {"resolution_code": "answered"})

    response = signed_in.post(url, {"resolution_code": "answered"}, **HTMX)

    assert response.status_code == 409
    assert "This is not possible in the current state." in response.content.decode()
    assert len(events("case.resolved", helmut.case)) == 1


def test_the_360_panel_needs_a_bounded_number_of_queries_for_a_long_history(
    signed_in: Client, helmut: Helmut, django_assert_max_num_queries
):
    InteractionFactory.create_batch(
        200, customer=helmut.customer, case=helmut.case, channel="phone"
    )

    # A fixed number, whatever the length of the history (the forward form's queues, the
    # contacts' attachments, the reply templates and the agent filling them, the journey
    # strip: one query each).
    with django_assert_max_num_queries(31):
        response = signed_in.get(case_url(helmut.case))

    assert response.status_code == 200
    page = response.content.decode()
    assert len(re.findall(r'<li class="entry ', page)) >= 25
    assert "?page=2" in page


def test_the_timeline_loads_older_contacts_page_by_page(
    signed_in: Client, helmut: Helmut, django_assert_max_num_queries
):
    InteractionFactory.create_batch(30, customer=helmut.customer, subject="Ältere Mail")
    url = reverse("web:customer_timeline", kwargs={"customer_id": helmut.customer.pk})

    with django_assert_max_num_queries(25):
        response = signed_in.get(url, {"page": 2}, **HTMX)

    assert response.status_code == 200
    part = response.content.decode()
    # 33 contacts, 25 per page: page two has the last eight and no further page.
    assert part.count('<li class="entry ') == 8
    assert "timeline-more" not in part
    assert Event.objects.filter(code="customer.viewed", payload={"page": 2}).exists()
