"""Who gets in: sign-in and sign-out, agents only, and the same 404 for missing and
not-permitted objects."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case
from casework.routing.models import Agent
from tests.factories import AgentFactory, UserFactory


@pytest.mark.parametrize("name", ["web:my_work", "web:queues", "web:duplicates", "web:search"])
def test_pages_send_anonymous_visitors_to_the_sign_in(client: Client, db, name: str):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")


def test_an_htmx_request_without_a_session_redirects_the_whole_page(client: Client, db):
    response = client.post(
        reverse("web:case_note", kwargs={"case_id": 1}), {"text": "x"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("web:login")


def test_sign_in_leads_to_my_work_and_sign_out_back(client: Client, agent: Agent):
    page = client.get(reverse("web:login"))
    assert page.status_code == 200 and 'name="password"' in page.content.decode()

    response = client.post(
        reverse("web:login"),
        {"username": agent.user.username, "password": "secret-password"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("web:my_work")
    assert agent.user.get_full_name() in response.content.decode()

    response = client.post(reverse("web:logout"))

    assert response.status_code == 302 and response["Location"] == reverse("web:login")
    assert client.get(reverse("web:my_work")).status_code == 302


def test_a_wrong_password_shows_the_form_again(client: Client, agent: Agent):
    response = client.post(
        reverse("web:login"), {"username": agent.user.username, "password": "wrong"}
    )

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_a_user_who_is_not_an_agent_gets_a_403_page(client: Client, db):
    client.force_login(UserFactory())

    response = client.get(reverse("web:my_work"))

    assert response.status_code == 403
    assert "No agent account" in response.content.decode()


def test_a_case_of_another_team_is_404_like_a_missing_one(signed_in: Client, other_team_case: Case):
    hidden = signed_in.get(reverse("web:case", kwargs={"case_id": other_team_case.pk}))
    missing_id = Case.objects.order_by("-pk").first().pk + 1
    missing = signed_in.get(reverse("web:case", kwargs={"case_id": missing_id}))

    assert hidden.status_code == missing.status_code == 404
    assert other_team_case.subject not in hidden.content.decode()


def test_a_supervisor_of_team_b_sees_that_case(client: Client, other_team_case: Case):
    client.force_login(AgentFactory(role="supervisor", teams=[other_team_case.queue.team]).user)

    response = client.get(reverse("web:case", kwargs={"case_id": other_team_case.pk}))

    assert response.status_code == 200
    assert other_team_case.subject in response.content.decode()


def test_unknown_urls_get_the_desktop_404_page(signed_in: Client):
    response = signed_in.get("/no-such-page/")

    assert response.status_code == 404
    assert "This page does not exist, or you may not see it." in response.content.decode()


def test_forms_need_post(signed_in: Client, other_team_case: Case):
    assert signed_in.get(reverse("web:next_task")).status_code == 405
    url = reverse("web:case_resolve", kwargs={"case_id": other_team_case.pk})
    assert signed_in.get(url).status_code == 405
