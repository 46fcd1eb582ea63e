"""The customer page and merging: find, compare, confirm, undo."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from casework.customers.models import Customer, CustomerMerge
from casework.events.models import Event
from tests.factories import (
    CustomerFactory,
    IdentifierFactory,
    InteractionFactory,
    PaymentMethodFactory,
)
from tests.web.conftest import Helmut


def customer_url(customer: Customer, name: str = "web:customer", **kwargs: int) -> str:
    return reverse(name, kwargs={"customer_id": customer.pk, **kwargs})


def test_customer_page_shows_the_360_view_and_records_the_look(signed_in: Client, helmut: Helmut):
    response = signed_in.get(customer_url(helmut.customer))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Helmut Berger" in page and "K00004711" in page
    assert "030 1234567" in page and "DE89 **** **** 3000" in page
    assert helmut.case.reference in page
    assert "Merge a duplicate into this customer" in page
    assert Event.objects.filter(
        code="customer.viewed", object_id=helmut.customer.pk, payload={"page": 1}
    ).exists()


def test_customer_page_says_how_many_open_cases_are_in_other_departments(
    signed_in: Client, helmut: Helmut, other_team_case
):
    other_team_case.customer = helmut.customer
    other_team_case.save(update_fields=["customer"])

    page = signed_in.get(customer_url(helmut.customer)).content.decode()

    assert "1 more open case in another department" in page
    assert other_team_case.reference not in page


def test_missing_customer_is_404(signed_in: Client, helmut: Helmut):
    missing = Customer.objects.order_by("-pk").first().pk + 1

    response = signed_in.get(reverse("web:customer", kwargs={"customer_id": missing}))

    assert response.status_code == 404


def test_timeline_falls_back_to_page_links_without_htmx(signed_in: Client, helmut: Helmut):
    InteractionFactory.create_batch(30, customer=helmut.customer, subject="Alt")

    page_two = signed_in.get(customer_url(helmut.customer), {"page": 2}).content.decode()

    assert page_two.count('<li class="entry ') == 8
    assert signed_in.get(customer_url(helmut.customer), {"page": "x"}).status_code == 200


def test_merge_search_finds_the_duplicate_by_id_and_by_e_mail(signed_in: Client, helmut: Helmut):
    duplicate = IdentifierFactory(kind="email", value="h.berger@example.de").customer
    url = customer_url(helmut.customer, "web:merge_search")

    by_id = signed_in.get(url, {"q": str(duplicate.pk)}).content.decode()
    by_mail = signed_in.get(url, {"q": "H.Berger@example.de"}).content.decode()

    confirm = customer_url(helmut.customer, "web:merge_confirm", duplicate_id=duplicate.pk)
    assert confirm in by_id and confirm in by_mail
    assert signed_in.get(url, {"q": ""}).status_code == 422


def test_merge_needs_the_confirmation_and_then_moves_everything(signed_in: Client, helmut: Helmut):
    duplicate = IdentifierFactory(kind="email", value="h.berger@example.de").customer
    PaymentMethodFactory(customer=duplicate, kind="bank_transfer", iban="")
    url = customer_url(helmut.customer, "web:merge_confirm", duplicate_id=duplicate.pk)
    assert signed_in.get(url).status_code == 200

    refused = signed_in.post(url, {})

    assert refused.status_code == 422
    assert "This field is required." in refused.content.decode()
    assert not CustomerMerge.objects.exists()

    response = signed_in.post(url, {"confirm": "on"}, follow=True)

    assert response.redirect_chain[-1][0] == customer_url(helmut.customer)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == helmut.customer.pk
    assert helmut.customer.identifiers.filter(value="h.berger@example.de").exists()
    merge = CustomerMerge.objects.get()
    page = response.content.decode()
    assert "was merged into K00004711" in page
    assert reverse("web:merge_undo", kwargs={"merge_id": merge.pk}) in page
    assert Event.objects.filter(code="customer.merged", object_id=helmut.customer.pk).exists()


def test_undo_restores_the_duplicate(signed_in: Client, helmut: Helmut):
    duplicate = IdentifierFactory(kind="email", value="h.berger@example.de").customer
    signed_in.post(
        customer_url(helmut.customer, "web:merge_confirm", duplicate_id=duplicate.pk),
        {"confirm": "on"},
    )
    merge = CustomerMerge.objects.get()

    response = signed_in.post(reverse("web:merge_undo", kwargs={"merge_id": merge.pk}))

    assert response.status_code == 302
    assert response["Location"] == customer_url(helmut.customer)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id is None
    assert duplicate.identifiers.filter(value="h.berger@example.de").exists()
    assert Event.objects.filter(code="customer.merge_undone").count() == 1
    page = signed_in.get(response["Location"]).content.decode()
    assert reverse("web:merge_undo", kwargs={"merge_id": merge.pk}) not in page

    again = signed_in.post(
        reverse("web:merge_undo", kwargs={"merge_id": merge.pk}),
        {"next": customer_url(helmut.customer)},
        follow=True,
    )
    assert "This is not possible in the current state." in again.content.decode()
    assert Event.objects.filter(code="customer.merge_undone").count() == 1


def test_merging_a_customer_into_itself_is_refused_with_a_message(
    signed_in: Client, helmut: Helmut
):
    url = customer_url(helmut.customer, "web:merge_confirm", duplicate_id=helmut.customer.pk)

    response = signed_in.post(url, {"confirm": "on", "next": customer_url(helmut.customer)})

    assert response.status_code == 302
    page = signed_in.get(response["Location"]).content.decode()
    assert "A customer cannot be merged into itself" in page
    assert not CustomerMerge.objects.exists()


def test_duplicate_suspects_link_to_the_comparison(signed_in: Client, db):
    first = CustomerFactory(last_name="Berger", first_name="Helmut")
    second = CustomerFactory(last_name="Berger", first_name="Helmut")

    response = signed_in.get(reverse("web:duplicates"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "same name and date of birth" in page
    assert customer_url(first, "web:merge_confirm", duplicate_id=second.pk) in page


def test_an_absurd_page_number_shows_the_first_page(signed_in: Client, helmut: Helmut):
    response = signed_in.get(customer_url(helmut.customer), {"page": "9" * 30})

    assert response.status_code == 200
    assert "Frage zum Tarif" in response.content.decode()


def test_timeline_shows_contacts_of_other_departments_without_a_link_into_their_case(
    signed_in: Client, helmut: Helmut, other_team_case
):
    other_team_case.customer = helmut.customer
    other_team_case.save(update_fields=["customer"])
    InteractionFactory(customer=helmut.customer, case=other_team_case, subject="Lizenzfrage")

    page = signed_in.get(customer_url(helmut.customer)).content.decode()

    assert "Lizenzfrage" in page  # the whole history is visible …
    assert reverse("web:case", kwargs={"case_id": other_team_case.pk}) not in page  # … not the case
    assert reverse("web:case", kwargs={"case_id": helmut.case.pk}) in page
