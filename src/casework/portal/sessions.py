"""Who is signed in to the portal, for every package that serves customers (the portal's
pages, the chat widget).

The signed-in customer's id is kept in the Django session under `SESSION_KEY`. That is all
a portal sign-in puts into the session: it never signs in a Django user, so it makes no one
an agent, and an agent's sign-in (a Django user) gives no portal access.
"""

from __future__ import annotations

from django.http import HttpRequest

from casework.customers.models import Customer

SESSION_KEY = "portal_customer_id"
# How many merges are followed from an old id to the surviving customer.
_MAX_MERGE_HOPS = 10


def signed_in_customer(request: HttpRequest) -> Customer | None:
    """The customer signed in to the portal in this request's session, or None (nobody is
    signed in, or the customer no longer exists). A customer merged into another is the
    survivor: the session is moved on to it."""
    cached = getattr(request, "_portal_customer", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    customer = _load(request.session.get(SESSION_KEY))
    if customer is None:
        request.session.pop(SESSION_KEY, None)
    elif customer.pk != request.session.get(SESSION_KEY):
        request.session[SESSION_KEY] = customer.pk
    request._portal_customer = customer  # type: ignore[attr-defined]
    return customer


def _load(customer_id: object) -> Customer | None:
    if not isinstance(customer_id, int):
        return None
    customer = Customer.objects.filter(pk=customer_id).first()
    hops = 0
    while customer is not None and customer.merged_into_id is not None:
        hops += 1
        if hops > _MAX_MERGE_HOPS:
            return None
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    return customer


def start_session(request: HttpRequest, customer: Customer) -> None:
    """After a successful sign-in: a new session key (no fixation), the customer in it."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = customer.pk
    request._portal_customer = customer  # type: ignore[attr-defined]


def end_session(request: HttpRequest) -> None:
    """Sign the customer out; an agent's sign-in in the same browser is left alone."""
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    request._portal_customer = None  # type: ignore[attr-defined]
