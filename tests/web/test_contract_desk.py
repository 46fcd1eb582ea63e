"""Contracts in the 360 view: an agent books an order, changes or cancels it, sends the
contract by post and adds a payment method — each as a plain form POST and with htmx;
refusals come back as the banner; nobody but an agent gets in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from casework.customers.models import Contract, ContractStatus, PaymentMethod
from casework.events.models import Event
from casework.interactions.models import Interaction
from casework.kernel import clock
from casework.routing.models import Agent
from tests.browser import sign_in
from tests.factories import AgentFactory, CaseFactory, ContractFactory, ProductFactory, UserFactory
from tests.web.conftest import Helmut

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def catalogue(db) -> None:  # noqa: ANN001
    ProductFactory(code="mobil-m", name_en="Mobile M (20 GB)", monthly_fee="19.99")
    ProductFactory(code="sprache-basis", name_en="Voice basic (calls only)", monthly_fee="7.99")
    ProductFactory(code="intl-eu", kind="option", name_en="Option abroad EU+", monthly_fee="4.99")
    ProductFactory(code="smartphone-a", kind="device", name_en="Smartphone A54", monthly_fee="12.5")
    ProductFactory(code="mobil-alt", name_en="Mobile old", is_active=False)


@pytest.fixture
def order(helmut: Helmut, catalogue) -> Contract:  # noqa: ANN001
    contract = ContractFactory(
        customer=helmut.customer,
        contract_number="V-2026-118377",
        product__code="mobil-m",
        status=ContractStatus.ORDERED,
        start_date=clock.localtime(clock.now()).date(),
    )
    contract.options.add(ProductFactory(code="smartphone-a"))
    return contract


def customer_page(helmut: Helmut) -> str:
    return reverse("web:customer", kwargs={"customer_id": helmut.customer.pk})


def case_page(helmut: Helmut) -> str:
    return reverse("web:case", kwargs={"case_id": helmut.case.pk})


def contract_url(name: str, contract: Contract) -> str:
    return reverse(name, kwargs={"contract_id": contract.pk})


def book_url(helmut: Helmut) -> str:
    return reverse("web:contract_book", kwargs={"customer_id": helmut.customer.pk})


def test_the_360_view_offers_booking_changing_and_sending(
    signed_in: Client, helmut: Helmut, order: Contract
):
    on_customer_page = signed_in.get(customer_page(helmut)).content.decode()
    on_case_page = signed_in.get(case_page(helmut)).content.decode()

    assert "Book a contract" in on_customer_page and "Add a payment method" in on_customer_page
    assert contract_url("web:contract_change", order) in on_customer_page  # ordered
    assert on_customer_page.count("Send by post") == 2  # the order and the active contract
    assert on_customer_page.count("Change or cancel") == 1
    # Beside a case, the forms carry the case: the notes and the letter land there.
    assert f"&amp;case={helmut.case.pk}" in on_case_page
    assert f'name="case" value="{helmut.case.pk}"' in on_case_page


def test_the_booking_form_lists_tariffs_on_sale_and_options_with_today_as_start(
    signed_in: Client, helmut: Helmut, catalogue
):
    panel = signed_in.get(book_url(helmut), {"next": case_page(helmut)}, **HTMX)
    page = signed_in.get(book_url(helmut))

    assert panel.status_code == 200 and page.status_code == 200
    html = panel.content.decode()
    assert 'id="contract-panel"' in html and "<html" not in html
    assert "Voice basic (calls only) · 7.99" in html and "Smartphone A54" in html
    assert "Mobile old" not in html
    assert f'value="{clock.localtime(clock.now()).date().isoformat()}"' in html
    assert f'name="next" value="{case_page(helmut)}"' in html
    assert "<html" in page.content.decode()  # without JavaScript: a page of its own


def test_agent_books_an_order_from_the_case_and_returns_there(
    signed_in: Client, helmut: Helmut, catalogue
):
    response = signed_in.post(
        book_url(helmut),
        {
            "product": "mobil-m",
            "options": ["smartphone-a"],
            "start_date": clock.localtime(clock.now()).date().isoformat(),
            "case": helmut.case.pk,
            "next": case_page(helmut),
        },
        follow=True,
    )

    assert response.redirect_chain[0] == (case_page(helmut), 302)
    contract = Contract.objects.get(customer=helmut.customer, product__code="mobil-m")
    assert contract.status == ContractStatus.ORDERED
    assert list(contract.options.values_list("code", flat=True)) == ["smartphone-a"]
    page = response.content.decode()
    assert f"Contract {contract.contract_number} is booked (ordered)." in page
    assert helmut.case.interactions.filter(
        channel="note", text__contains=contract.contract_number
    ).exists()


def test_an_incomplete_booking_shows_the_form_with_its_errors(
    signed_in: Client, helmut: Helmut, catalogue
):
    with_htmx = signed_in.post(book_url(helmut), {"product": "", "start_date": ""}, **HTMX)
    without = signed_in.post(book_url(helmut), {"product": "intl-eu", "start_date": "gestern"})

    assert with_htmx.status_code == 422 and without.status_code == 422
    assert "This field is required." in with_htmx.content.decode()
    assert "Select a valid choice." in without.content.decode()  # an option is no tariff
    assert not Contract.objects.filter(customer=helmut.customer, status="ordered").exists()


def test_agent_switches_the_order_to_the_voice_only_tariff_with_htmx(
    signed_in: Client, helmut: Helmut, order: Contract
):
    panel = signed_in.get(
        contract_url("web:contract_change", order), {"case": helmut.case.pk}, **HTMX
    ).content.decode()
    assert 'value="mobil-m" selected' in panel and "Cancel the order" in panel

    response = signed_in.post(
        contract_url("web:contract_change", order),
        {"product": "sprache-basis", "case": helmut.case.pk, "next": case_page(helmut)},
        **HTMX,
    )

    assert response.status_code == 204 and response["HX-Redirect"] == case_page(helmut)
    order.refresh_from_db()
    assert order.product.code == "sprache-basis" and order.monthly_fee == Decimal("7.99")
    assert not order.options.exists()
    assert Event.objects.get(code="contract.updated", object_id=order.pk).payload["after"] == {
        "product": "sprache-basis",
        "monthly_fee": "7.99",
        "options": [],
    }
    page = signed_in.get(case_page(helmut)).content.decode()
    assert f"Contract {order.contract_number} is changed." in page
    assert "Mobile M (20 GB) → Voice basic (calls only)" in page  # the note on the case


def test_agent_cancels_the_order_with_a_reason(signed_in: Client, helmut: Helmut, order: Contract):
    url = contract_url("web:contract_cancel", order)

    missing_reason = signed_in.post(url, {"reason": " "}, **HTMX)
    response = signed_in.post(url, {"reason": "Kein Datenvolumen nötig"}, follow=True)

    assert missing_reason.status_code == 422
    assert "This field is required." in missing_reason.content.decode()
    assert response.redirect_chain[0] == (customer_page(helmut), 302)
    order.refresh_from_db()
    assert order.status == ContractStatus.CANCELLED
    assert f"Order {order.contract_number} is cancelled." in response.content.decode()
    assert Event.objects.get(code="contract.cancelled", object_id=order.pk).payload["reason"] == (
        "Kein Datenvolumen nötig"
    )


def test_a_refused_change_comes_back_as_the_banner(
    signed_in: Client, helmut: Helmut, order: Contract
):
    order.status = ContractStatus.CANCELLED
    order.save(update_fields=["status"])
    url = contract_url("web:contract_change", order)

    plain = signed_in.post(
        url, {"product": "sprache-basis", "next": customer_page(helmut)}, follow=True
    )
    with_htmx = signed_in.post(url, {"product": "sprache-basis"}, **HTMX)

    expected = (
        f"This is not possible in the current state. Contract {order.contract_number} is "
        "cancelled; only an ordered contract can be changed."
    )
    assert plain.redirect_chain[0] == (customer_page(helmut), 302)
    assert expected in plain.content.decode()
    assert with_htmx.status_code == 409 and with_htmx["HX-Retarget"] == "#flash"
    assert expected in with_htmx.content.decode()
    order.refresh_from_db()
    assert order.product.code == "mobil-m"


def test_sending_by_post_records_the_letter_on_customer_and_case(
    signed_in: Client, helmut: Helmut, order: Contract
):
    url = contract_url("web:contract_send_by_post", order)
    no_address = signed_in.post(url, {"next": customer_page(helmut)}, follow=True)
    assert "The customer has no postal address to send the contract to." in (
        no_address.content.decode()
    )
    assert not Interaction.objects.filter(channel="letter").exists()

    helmut.customer.street, helmut.customer.postal_code = "Lindenstraße 3", "10969"
    helmut.customer.save(update_fields=["street", "postal_code"])
    response = signed_in.post(
        url, {"case": helmut.case.pk, "next": case_page(helmut) + "#customer-contracts"}
    )

    assert response.status_code == 302
    assert response["Location"] == case_page(helmut) + "#customer-contracts"
    letter = Interaction.objects.get(channel="letter")
    assert letter.direction == "outbound" and letter.case_id == helmut.case.pk
    assert order.contract_number in letter.text
    page = signed_in.get(case_page(helmut)).content.decode()
    assert f"Contract {order.contract_number} goes to the customer by post" in page


def test_agent_adds_a_bank_transfer_as_the_default(signed_in: Client, helmut: Helmut):
    url = reverse("web:payment_method_add", kwargs={"customer_id": helmut.customer.pk})
    form = signed_in.get(url, **HTMX).content.decode()
    assert "Bank transfer" in form and "Standing order" in form and "Card" not in form

    response = signed_in.post(
        url,
        {
            "kind": "bank_transfer",
            "iban": "DE89 3704 0044 0532 0130 00",
            "account_holder": "Helmut Berger",
            "is_default": "on",
        },
        follow=True,
    )

    method = PaymentMethod.objects.get(customer=helmut.customer, kind="bank_transfer")
    assert method.iban == "DE89370400440532013000" and method.is_default
    # The standing order he had stays, no longer the default.
    assert (
        PaymentMethod.objects.get(customer=helmut.customer, kind="standing_order").is_default
        is False
    )
    page = response.content.decode()
    assert "Payment method added." in page and "DE89 **** **** 3000" in page
    assert "Helmut Berger" in page
    assert Event.objects.filter(code="payment_method.added", object_id=helmut.customer.pk).exists()


def test_a_wrong_iban_is_shown_as_the_banner(signed_in: Client, helmut: Helmut):
    url = reverse("web:payment_method_add", kwargs={"customer_id": helmut.customer.pk})

    response = signed_in.post(
        url,
        {"kind": "standing_order", "iban": "DE00 1234", "next": customer_page(helmut)},
        follow=True,
    )

    assert "The input is not valid. “DE00 1234” is not an IBAN." in response.content.decode()
    assert not PaymentMethod.objects.filter(kind="standing_order", iban__startswith="DE00").exists()


def test_a_foreign_return_address_is_not_followed(signed_in: Client, helmut: Helmut, order):  # noqa: ANN001
    response = signed_in.post(
        contract_url("web:contract_cancel", order),
        {"reason": "storniert", "next": "https://evil.example/"},
    )

    assert response["Location"] == customer_page(helmut)


def test_a_case_the_agent_may_not_see_or_a_missing_contract_is_404(
    signed_in: Client, helmut: Helmut, order: Contract, other_team_case
):
    other_team_case.customer = helmut.customer
    other_team_case.save(update_fields=["customer"])

    hidden_case = signed_in.post(
        contract_url("web:contract_cancel", order),
        {"reason": "storniert", "case": other_team_case.pk},
    )
    missing = signed_in.get(reverse("web:contract_change", kwargs={"contract_id": order.pk + 99}))

    assert hidden_case.status_code == 404 and missing.status_code == 404
    order.refresh_from_db()
    assert order.status == ContractStatus.ORDERED


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("web:contract_change", {"product": "sprache-basis"}),
        ("web:contract_cancel", {"reason": "storniert"}),
        ("web:contract_send_by_post", {}),
    ],
)
def test_only_agents_change_contracts(
    client: Client, helmut: Helmut, order: Contract, name: str, data: dict
):
    url = contract_url(name, order)

    anonymous = client.post(url, data)
    client.force_login(UserFactory())  # signed in, but no agent
    not_an_agent = client.post(url, data)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("web:login"))
    assert not_an_agent.status_code == 403
    order.refresh_from_db()
    assert order.status == ContractStatus.ORDERED and order.product.code == "mobil-m"
    assert not Event.objects.filter(object_type="contract", object_id=order.pk).exists()


def test_anonymous_visitors_cannot_book_or_add_payment_methods(
    client: Client, helmut: Helmut, catalogue
):
    booking = client.post(book_url(helmut), {"product": "mobil-m", "start_date": "2030-01-01"})
    payment = client.post(
        reverse("web:payment_method_add", kwargs={"customer_id": helmut.customer.pk}),
        {"kind": "bank_transfer"},
    )

    assert booking.status_code == 302 and payment.status_code == 302
    assert not Contract.objects.filter(product__code="mobil-m").exists()


def test_the_forms_are_protected_against_cross_site_posts(helmut: Helmut, order: Contract):
    client = Client(enforce_csrf_checks=True)
    client.force_login(AgentFactory(teams=[helmut.case.queue.team]).user)

    response = client.post(contract_url("web:contract_cancel", order), {"reason": "storniert"})

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == ContractStatus.ORDERED


def test_a_case_of_another_customer_is_refused(signed_in: Client, helmut: Helmut, order: Contract):
    other = CaseFactory(queue=helmut.case.queue, case_type=helmut.case.case_type)

    response = signed_in.post(
        contract_url("web:contract_cancel", order),
        {"reason": "storniert", "case": other.pk, "next": customer_page(helmut)},
        follow=True,
    )

    assert "The case belongs to another customer." in response.content.decode()
    order.refresh_from_db()
    assert order.status == ContractStatus.ORDERED


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_helmuts_second_call_in_chromium(page: Page, agent: Agent, helmut: Helmut, catalogue):
    """He booked Mobil M with a phone; calling again he needs no data volume: the agent
    switches the order to the voice-only tariff, sends it by post and adds his standing
    order — without leaving the case."""
    helmut.customer.street, helmut.customer.postal_code = "Lindenstraße 3", "10969"
    helmut.customer.save(update_fields=["street", "postal_code"])
    sign_in(page, agent)
    page.goto(case_page(helmut))

    page.get_by_role("link", name="Book a contract").click()
    page.locator("#contract-panel").get_by_label("Tariff").select_option("mobil-m")
    page.get_by_label("Smartphone A54").check()
    page.get_by_role("button", name="Book the contract").click()
    expect(page.locator("#flash")).to_contain_text("is booked (ordered)")

    page.get_by_role("link", name="Change or cancel").click()
    page.locator("#contract-panel").get_by_label("Tariff").select_option("sprache-basis")
    page.get_by_label("Smartphone A54").uncheck()
    page.get_by_role("button", name="Change the order").click()
    expect(page.locator("#flash")).to_contain_text("is changed")
    contracts = page.locator("#customer-360 table")
    expect(contracts).to_contain_text("Voice basic (calls only)")
    expect(contracts).to_contain_text("7.99\xa0€")

    ordered = contracts.locator("tr", has_text="Voice basic")
    ordered.get_by_role("button", name="Send by post").click()
    expect(page.locator("#flash")).to_contain_text("goes to the customer by post")
    # The letter is written in the customer's language.
    expect(page.locator("#customer-360 .timeline")).to_contain_text("Ihr Vertrag")

    page.get_by_role("link", name="Add a payment method").click()
    page.get_by_label("Payment method", exact=True).select_option("standing_order")
    page.get_by_label("IBAN").fill("DE00 12")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("is not an IBAN")
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Payment method added.")

    contract = Contract.objects.get(customer=helmut.customer, status=ContractStatus.ORDERED)
    assert contract.product.code == "sprache-basis" and not contract.options.exists()
    assert helmut.case.interactions.filter(channel="letter", direction="outbound").count() == 1
    assert helmut.case.interactions.filter(channel="note").count() == 2  # booked, changed
