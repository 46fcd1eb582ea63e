"""The cross-channel timeline."""

from __future__ import annotations

from dataclasses import dataclass

from casework.interactions.models import Interaction


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Interaction]
    page: int
    has_next: bool


def timeline_for_customer(customer_id: int, *, page: int = 1, page_size: int = 25) -> TimelinePage:
    """Newest first. Fetches one row more than shown to know whether there is a next page,
    so no COUNT(*) over a long history."""
    page = max(page, 1)
    offset = (page - 1) * page_size
    rows = list(
        Interaction.objects.filter(customer_id=customer_id)
        .select_related("case", "agent__user")
        .order_by("-occurred_at", "-id")[offset : offset + page_size + 1]
    )
    return TimelinePage(rows[:page_size], page, len(rows) > page_size)


def list_for_case(case_id: int) -> list[Interaction]:
    return list(
        Interaction.objects.filter(case_id=case_id)
        .select_related("agent__user")
        .prefetch_related("attachments")
        .order_by("-occurred_at", "-id")
    )
