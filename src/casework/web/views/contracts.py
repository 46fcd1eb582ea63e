"""Contracts in the customer's 360 view (on the customer page and beside a case): book an
order, change or cancel an order before it starts, send a contract by post, add a payment
method. Thin: `customers.services` decides and records; these views parse, load what the
request names through accessors, and show.

The forms load into the 360 view with htmx (`#contract-panel`, `#payment-method-panel`);
without JavaScript each opens as a page of its own. Every form carries `next` (the page it
was opened from) and, when the agent works a case, `case`: the case gets a note or the
letter. After a change the browser returns to `next` (with htmx by `HX-Redirect`), because
the contracts, the timeline and the case's notes have all changed. Invalid input answers
422 with the form and its errors; a refused change becomes the banner (`desk_view`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from casework.cases.models import Case
from casework.cases.queries import access_case
from casework.customers.models import Contract, Customer, PaymentMethodKind, Product
from casework.customers.queries import access_contract, access_customer, products_on_sale
from casework.customers.services import (
    ADD_ON_KINDS,
    ChangeContract,
    ContractOrder,
    NewPaymentMethod,
    add_payment_method,
    book_contract,
    cancel_contract,
    change_contract,
    send_contract_by_post,
)
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import InvalidInput
from casework.web.desk import desk_view, is_htmx
from casework.web.templatetags.desk import euro

PAGE = "web/customers/_contract_page.html"
BOOK = "web/customers/_contract_book.html"
CHANGE = "web/customers/_contract_change.html"
PAYMENT_METHOD = "web/customers/_contract_payment_method.html"

# Element ids of the forms' fields: the 360 view shares its page with the case's forms.
CONTRACT_IDS, CANCEL_IDS, PAYMENT_METHOD_IDS = "contract_%s", "cancel_%s", "payment_%s"

# The payment methods an agent sets on the phone; cards and PayPal come from the portal.
AGENT_PAYMENT_KINDS = (PaymentMethodKind.BANK_TRANSFER, PaymentMethodKind.STANDING_ORDER)


class PlaceForm(forms.Form):
    """Where a contract form was opened: the case the agent works (optional) and the page
    to return to."""

    case = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)


def _product_label(product: Product) -> str:
    return f"{product.name} · {euro(product.monthly_fee)}"


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return _product_label(obj)


class AddOnChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return _product_label(obj)


class ContractProductsForm(forms.Form):
    """The tariff and its options and devices: those on sale, and those the contract has."""

    product = ProductChoiceField(
        queryset=Product.objects.none(), to_field_name="code", label=gettext_lazy("Tariff")
    )
    options = AddOnChoiceField(
        queryset=Product.objects.none(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Options and devices"),
    )

    def __init__(self, *args: Any, contract: Contract | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        held_tariff = Q(pk=contract.product_id) if contract is not None else Q(pk__in=[])
        held_add_ons = Q(pk__in=contract.options.all()) if contract is not None else Q(pk__in=[])
        self.fields["product"].queryset = products_on_sale(Q(kind=Product.Kind.TARIFF), held_tariff)
        self.fields["options"].queryset = products_on_sale(Q(kind__in=ADD_ON_KINDS), held_add_ons)

    def option_codes(self) -> list[str]:
        return [product.code for product in self.cleaned_data["options"]]


class BookContractForm(ContractProductsForm):
    start_date = forms.DateField(
        label=gettext_lazy("Start"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class CancelContractForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the cancellation"),
        max_length=500,
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("e.g. the customer needs no data volume")}
        ),
    )


class PaymentMethodForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Payment method"),
        choices=[(kind.value, capfirst(kind.label)) for kind in AGENT_PAYMENT_KINDS],
    )
    iban = forms.CharField(
        label=gettext_lazy("IBAN"),
        max_length=42,
        required=False,
        help_text=gettext_lazy("The account the customer pays from, if known."),
    )
    account_holder = forms.CharField(
        label=gettext_lazy("Account holder"), max_length=200, required=False
    )
    is_default = forms.BooleanField(
        label=gettext_lazy("Default payment method"), required=False, initial=True
    )


@require_http_methods(["GET", "POST"])
@desk_view
def contract_book(request: HttpRequest, actor: Actor, customer_id: int) -> HttpResponse:
    customer = access_customer(actor, customer_id)
    case, next_url = _place(request, actor, customer)
    form = BookContractForm(
        request.POST if request.method == "POST" else None,
        initial={"start_date": clock.localtime(clock.now()).date()},
        auto_id=CONTRACT_IDS,
    )
    if request.method == "POST" and form.is_valid():
        contract = book_contract(
            customer,
            ContractOrder(
                product_code=form.cleaned_data["product"].code,
                start_date=form.cleaned_data["start_date"],
                option_codes=form.option_codes(),
            ),
            actor=actor,
            case=case,
        )
        messages.success(
            request,
            _("Contract %(number)s is booked (ordered).") % {"number": contract.contract_number},
        )
        return _back(request, next_url)
    return _form(
        request,
        BOOK,
        form,
        customer=customer,
        case=case,
        next_url=next_url,
        title=_("Book a contract"),
    )


@require_http_methods(["GET", "POST"])
@desk_view
def contract_change(request: HttpRequest, actor: Actor, contract_id: int) -> HttpResponse:
    contract = access_contract(actor, contract_id)
    case, next_url = _place(request, actor, contract.customer)
    form = _change_form(contract, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = change_contract(
            contract,
            ChangeContract(
                product_code=form.cleaned_data["product"].code, option_codes=form.option_codes()
            ),
            actor=actor,
            case=case,
        )
        if result.changes:
            messages.success(
                request,
                _("Contract %(number)s is changed.") % {"number": contract.contract_number},
            )
        else:
            messages.info(
                request,
                _("Contract %(number)s has this tariff and these options already.")
                % {"number": contract.contract_number},
            )
        return _back(request, next_url)
    return _change_panel(
        request, contract, case, next_url, form, CancelContractForm(auto_id=CANCEL_IDS)
    )


@require_POST
@desk_view
def contract_cancel(request: HttpRequest, actor: Actor, contract_id: int) -> HttpResponse:
    contract = access_contract(actor, contract_id)
    case, next_url = _place(request, actor, contract.customer)
    form = CancelContractForm(request.POST, auto_id=CANCEL_IDS)
    if not form.is_valid():
        return _change_panel(request, contract, case, next_url, _change_form(contract), form)
    cancel_contract(contract, reason=form.cleaned_data["reason"], actor=actor, case=case)
    messages.success(
        request, _("Order %(number)s is cancelled.") % {"number": contract.contract_number}
    )
    return _back(request, next_url)


@require_POST
@desk_view
def contract_send_by_post(request: HttpRequest, actor: Actor, contract_id: int) -> HttpResponse:
    contract = access_contract(actor, contract_id)
    case, next_url = _place(request, actor, contract.customer)
    send_contract_by_post(contract, actor=actor, case=case)
    messages.success(
        request,
        _("Contract %(number)s goes to the customer by post; the letter is recorded.")
        % {"number": contract.contract_number},
    )
    return _back(request, next_url)


@require_http_methods(["GET", "POST"])
@desk_view
def payment_method_add(request: HttpRequest, actor: Actor, customer_id: int) -> HttpResponse:
    customer = access_customer(actor, customer_id)
    case, next_url = _place(request, actor, customer)
    form = PaymentMethodForm(
        request.POST if request.method == "POST" else None, auto_id=PAYMENT_METHOD_IDS
    )
    if request.method == "POST" and form.is_valid():
        add_payment_method(
            customer,
            NewPaymentMethod(
                kind=form.cleaned_data["kind"],
                is_default=form.cleaned_data["is_default"],
                account_holder=form.cleaned_data["account_holder"].strip(),
                iban=form.cleaned_data["iban"],
            ),
            actor=actor,
        )
        messages.success(request, _("Payment method added."))
        return _back(request, next_url)
    return _form(
        request,
        PAYMENT_METHOD,
        form,
        customer=customer,
        case=case,
        next_url=next_url,
        title=_("Add a payment method"),
    )


def _change_form(contract: Contract, data: Any = None) -> ContractProductsForm:
    return ContractProductsForm(
        data,
        contract=contract,
        initial={"product": contract.product.code, "options": list(contract.options.all())},
        auto_id=CONTRACT_IDS,
    )


def _change_panel(
    request: HttpRequest,
    contract: Contract,
    case: Case | None,
    next_url: str,
    form: ContractProductsForm,
    cancel_form: CancelContractForm,
) -> HttpResponse:
    """The change form and, below it, the cancellation."""
    return _form(
        request,
        CHANGE,
        form,
        customer=contract.customer,
        case=case,
        next_url=next_url,
        title=_("Change order %(number)s") % {"number": contract.contract_number},
        contract=contract,
        cancel_form=cancel_form,
    )


def _place(request: HttpRequest, actor: Actor, customer: Customer) -> tuple[Case | None, str]:
    """The case named by the form (GET: the link) and the page to return to."""
    form = PlaceForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        raise InvalidInput(_("the case or the page to return to is not valid"))
    case_id = form.cleaned_data["case"]
    case = access_case(actor, case_id) if case_id else None
    candidate = form.cleaned_data["next"]
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return case, candidate
    return case, reverse("web:customer", kwargs={"customer_id": customer.pk})


def _back(request: HttpRequest, next_url: str) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = next_url
        return response
    return redirect(next_url)


def _form(
    request: HttpRequest,
    template: str,
    form: forms.Form,
    *,
    customer: Customer,
    case: Case | None,
    next_url: str,
    title: str,
    **extra: Any,
) -> HttpResponse:
    context = {
        "form": form,
        "customer": customer,
        # Hidden fields in two forms of one panel: without ids, which would repeat.
        "place": PlaceForm(
            initial={"case": case.pk if case else None, "next": next_url}, auto_id=False
        ),
        "is_page": not is_htmx(request),
        "next_url": next_url,
        "title": title,
        "partial": template,
        **extra,
    }
    # Rendered after a POST only when its form was invalid.
    status = 422 if request.method == "POST" else 200
    return render(request, template if is_htmx(request) else PAGE, context, status=status)
