"""Global search and the list of suspected duplicate customers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from casework.cases.queries import search_cases
from casework.customers.merging import list_duplicate_suspects
from casework.customers.queries import search_customers
from casework.kernel.actors import Actor
from casework.web.desk import desk_view
from casework.web.forms import SearchForm


@require_GET
@desk_view
def search(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = SearchForm(request.GET)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    return render(
        request,
        "web/search.html",
        {
            "form": form,
            "search_query": text,
            "customers": search_customers(text) if text else [],
            "cases": search_cases(actor, text) if text else [],
        },
    )


@require_GET
@desk_view
def duplicates(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "web/duplicates.html", {"suspects": list_duplicate_suspects()})
