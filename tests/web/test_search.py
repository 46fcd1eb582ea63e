"""Global search: customers by name, number, e-mail and phone; cases by reference or
subject, only those the agent may see."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casework.cases.models import Case
from tests.web.conftest import Helmut


@pytest.mark.parametrize("text", ["Berger", "K00004711", "HELMUT@example.de", "030 1234567"])
def test_search_finds_customers(signed_in: Client, helmut: Helmut, text: str):
    response = signed_in.get(reverse("web:search"), {"q": text})

    assert response.status_code == 200
    assert reverse("web:customer", kwargs={"customer_id": helmut.customer.pk}) in (
        response.content.decode()
    )


def test_search_finds_cases_by_reference_and_subject(signed_in: Client, helmut: Helmut):
    case_link = reverse("web:case", kwargs={"case_id": helmut.case.pk})

    by_reference = signed_in.get(reverse("web:search"), {"q": helmut.case.reference.lower()})
    by_subject = signed_in.get(reverse("web:search"), {"q": "zum Tarif"})

    assert case_link in by_reference.content.decode()
    assert case_link in by_subject.content.decode()


def test_search_leaves_out_cases_of_other_teams(signed_in: Client, other_team_case: Case):
    for text in (other_team_case.reference, "Team B"):
        page = signed_in.get(reverse("web:search"), {"q": text}).content.decode()
        assert reverse("web:case", kwargs={"case_id": other_team_case.pk}) not in page
        assert other_team_case.subject not in page
        assert "No cases found." in page


def test_empty_search_shows_just_the_form(signed_in: Client):
    response = signed_in.get(reverse("web:search"))

    assert response.status_code == 200
    assert "No customers found." not in response.content.decode()
