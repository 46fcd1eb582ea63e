"""The customer page (the 360 view standalone), its timeline pages, and merging two
records of one customer: find the duplicate, compare, confirm, and undo."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework.customers.merging import merge_customers, undo_merge
from casework.customers.queries import (
    access_customer,
    access_merge,
    customer_360,
    list_customers_by_ids,
    list_undoable_merges,
    search_customers,
)
from casework.kernel.actors import Actor
from casework.web.desk import desk_view
from casework.web.forms import MergeConfirmForm, MergeSearchForm, PageForm
from casework.web.views.retention import PhoneResponseForm


@require_GET
@desk_view
def customer_detail(request: HttpRequest, actor: Actor, customer_id: int) -> HttpResponse:
    view = customer_360(actor, customer_id, page=PageForm.page_from(request.GET))
    return render(
        request,
        "web/customers/detail.html",
        {
            "view": view,
            "merges": list_undoable_merges(view.customer),
            "merge_form": MergeSearchForm(),
            "retention_form": PhoneResponseForm(),
        },
    )


@require_GET
@desk_view
def customer_timeline(request: HttpRequest, actor: Actor, customer_id: int) -> HttpResponse:
    """One more page of the timeline, for htmx "load more"."""
    view = customer_360(actor, customer_id, page=PageForm.page_from(request.GET))
    return render(request, "web/customers/_timeline_entries.html", {"view": view})


@require_GET
@desk_view
def merge_search(request: HttpRequest, actor: Actor, customer_id: int) -> HttpResponse:
    customer = access_customer(actor, customer_id)
    form = MergeSearchForm(request.GET or None)
    candidates = []
    if form.is_valid():
        by_id = form.customer_id()
        found = list_customers_by_ids(actor, [by_id]) if by_id is not None else []
        found += search_customers(form.cleaned_data["q"])
        candidates = list({c.pk: c for c in found if c.pk != customer.pk}.values())
    return render(
        request,
        "web/customers/merge_search.html",
        {"customer": customer, "form": form, "candidates": candidates},
        status=422 if form.is_bound and not form.is_valid() else 200,
    )


@require_http_methods(["GET", "POST"])
@desk_view
def merge_confirm(
    request: HttpRequest, actor: Actor, customer_id: int, duplicate_id: int
) -> HttpResponse:
    """`customer_id` survives; `duplicate_id` is merged into it."""
    survivor = access_customer(actor, customer_id)
    duplicate = access_customer(actor, duplicate_id)
    form = MergeConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        merge_customers(survivor, duplicate, actor=actor)
        messages.success(
            request,
            _("%(duplicate)s was merged into %(survivor)s.")
            % {"duplicate": duplicate.customer_number, "survivor": survivor.customer_number},
        )
        return redirect("web:customer", customer_id=survivor.pk)
    return render(
        request,
        "web/customers/merge_confirm.html",
        {
            "survivor": customer_360(actor, survivor.pk),
            "duplicate": customer_360(actor, duplicate.pk),
            "form": form,
        },
        status=422 if form.is_bound else 200,
    )


@require_POST
@desk_view
def merge_undo(request: HttpRequest, actor: Actor, merge_id: int) -> HttpResponse:
    merge = access_merge(actor, merge_id)
    undo_merge(merge, actor=actor)
    messages.success(
        request,
        _("The merge of %(customer)s was undone.") % {"customer": merge.merged.customer_number},
    )
    return redirect("web:customer", customer_id=merge.survivor_id)
