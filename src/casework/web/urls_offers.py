"""URLs: Next-best-offer on the agent desktop."""

from django.urls import URLPattern, path

from casework.web.views import offers

urlpatterns: list[URLPattern] = [
    path("cases/<int:case_id>/offers/", offers.case_offers, name="case_offers"),
    path("cases/<int:case_id>/offers/decisions/", offers.offer_decision, name="offer_decision"),
    path("cases/<int:case_id>/offers/proposals/", offers.offer_proposal, name="offer_proposal"),
]
