"""URLs: contracts and payment methods in the customer's 360 view on the agent desktop."""

from django.urls import URLPattern, path

from casework.web.views import contracts

urlpatterns: list[URLPattern] = [
    path(
        "customers/<int:customer_id>/contracts/new/", contracts.contract_book, name="contract_book"
    ),
    path("contracts/<int:contract_id>/change/", contracts.contract_change, name="contract_change"),
    path(
        "contracts/<int:contract_id>/cancellation/",
        contracts.contract_cancel,
        name="contract_cancel",
    ),
    path(
        "contracts/<int:contract_id>/letter/",
        contracts.contract_send_by_post,
        name="contract_send_by_post",
    ),
    path(
        "customers/<int:customer_id>/payment-methods/new/",
        contracts.payment_method_add,
        name="payment_method_add",
    ),
]
