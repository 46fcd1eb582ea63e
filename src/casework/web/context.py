"""What every desktop page's navigation needs to know about the signed-in person."""

from __future__ import annotations

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, bool]:
    # `desk_view` has looked the actor up already; pages outside the desk show no figures.
    actor = getattr(request, "actor", None)
    return {"sees_figures": actor is not None and actor.is_supervisor}
