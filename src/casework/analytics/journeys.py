"""Customer journeys: the inbound contacts of each case in order, across channels.

The flow (Sankey) reads `ChannelTransition` (position, from, to); the journeys with the
most repeat contacts and where they break read `CaseJourney`, one row per case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, Count, Q, Sum

from casework.analytics.kpis import zone
from casework.analytics.models import CaseJourney, ChannelTransition
from casework.cases.models import Case
from casework.customers.models import Channel

DIGITAL_CHANNELS = ("email", "chat", "portal", "api")


def channel_label(code: str) -> str:
    return str(Channel(code).label) if code in Channel.values else code


def _period(start: date, end: date) -> Q:
    tz = zone()
    return Q(
        opened_at__gte=datetime.combine(start, time(), tz),
        opened_at__lt=datetime.combine(end + timedelta(days=1), time(), tz),
    )


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    cases: int


def flow(
    start: date, end: date, *, case_type: str = "", segment: str = "", min_cases: int = 1
) -> list[Flow]:
    """Channel to channel, step by step: "1 · E-mail" → "2 · Phone" (numbered so a journey
    that comes back to a channel draws no loop)."""
    rows = ChannelTransition.objects.filter(day__gte=start, day__lte=end)
    if case_type:
        rows = rows.filter(case_type=case_type)
    if segment:
        rows = rows.filter(segment=segment)
    flows = []
    for position, source, target, cases in (
        rows.values_list("position", "from_channel", "to_channel")
        .annotate(n=Sum("cases"))
        .order_by("position", "-n")
    ):
        if cases < min_cases or position == 1:
            continue  # position 1 is the first contact: "start" → channel
        flows.append(
            Flow(
                f"{position - 1} · {channel_label(source)}",
                f"{position} · {channel_label(target)}",
                cases,
            )
        )
    return flows


def first_contacts(start: date, end: date) -> list[tuple[str, int]]:
    """Where journeys start: cases per channel of their first contact."""
    rows = ChannelTransition.objects.filter(day__gte=start, day__lte=end, position=1)
    return [
        (channel_label(channel), cases)
        for channel, cases in rows.values_list("to_channel").annotate(n=Sum("cases")).order_by("-n")
    ]


@dataclass(frozen=True)
class PathCount:
    channels: list[str]
    cases: int
    avg_contacts: float


def top_paths(start: date, end: date, *, min_contacts: int = 2, limit: int = 10) -> list[PathCount]:
    """The most frequent journeys among cases where the customer had to come back."""
    rows = (
        CaseJourney.objects.filter(_period(start, end), contacts_in__gte=min_contacts)
        .values("path")
        .annotate(cases=Count("id"), avg_contacts=Avg("contacts_in"))
        .order_by("-cases", "path")[:limit]
    )
    return [
        PathCount(
            [channel_label(c) for c in row["path"].split(">") if c],
            row["cases"],
            float(row["avg_contacts"] or 0),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Hotspot:
    case_type: str
    stage: str
    step: str
    cases: int
    contacts: int


def repeat_hotspots(start: date, end: date, *, limit: int = 10) -> list[Hotspot]:
    """Where repeat contacts pile up: case type and the stage/step the cases are in."""
    repeated = CaseJourney.objects.filter(_period(start, end), contacts_in__gte=2)
    contacts = dict(repeated.values_list("case_id", "contacts_in"))
    rows = (
        Case.objects.filter(pk__in=list(contacts))
        .values_list("pk", "case_type__code", "stage", "step")
        .iterator(chunk_size=2000)
    )
    grouped: dict[tuple[str, str, str], list[int]] = {}
    for pk, case_type, stage, step in rows:
        grouped.setdefault((case_type, stage, step), []).append(contacts[pk])
    hotspots = [
        Hotspot(case_type, stage, step, len(counts), sum(counts))
        for (case_type, stage, step), counts in grouped.items()
    ]
    return sorted(hotspots, key=lambda h: (-h.contacts, h.case_type))[:limit]


def worst_journeys(start: date, end: date, *, limit: int = 20) -> list[CaseJourney]:
    """The single cases with the most contacts, then the most channel switches."""
    return list(
        CaseJourney.objects.filter(_period(start, end), contacts_in__gte=2).order_by(
            "-contacts_in", "-channel_switches", "-opened_at"
        )[:limit]
    )


@dataclass(frozen=True)
class SegmentProfile:
    segment: str
    cases: int
    avg_contacts: float
    repeat_share: float | None
    switch_share: float | None
    digital_share: float | None


def segment_profiles(start: date, end: date) -> list[SegmentProfile]:
    """Personas side by side: how often each segment has to come back, switches channel,
    and how digital it is (share of first contacts on digital channels)."""
    journeys = CaseJourney.objects.filter(_period(start, end), contacts_in__gte=1)
    profiles = []
    digital = Q()
    for channel in DIGITAL_CHANNELS:
        digital |= Q(path__startswith=channel)
    for row in (
        journeys.values("segment")
        .annotate(
            cases=Count("id"),
            avg_contacts=Avg("contacts_in"),
            repeated=Count("id", filter=Q(contacts_in__gte=2)),
            switched=Count("id", filter=Q(channel_switches__gte=1)),
            digital=Count("id", filter=digital),
        )
        .order_by("-cases")
    ):
        cases = row["cases"]
        profiles.append(
            SegmentProfile(
                row["segment"],
                cases,
                float(row["avg_contacts"] or 0),
                row["repeated"] / cases if cases else None,
                row["switched"] / cases if cases else None,
                row["digital"] / cases if cases else None,
            )
        )
    return profiles


def customer_journeys(customer_id: int, *, limit: int = 8) -> Sequence[CaseJourney]:
    """A customer's recent cases with their contact paths, newest first (the 360 panel)."""
    return list(CaseJourney.objects.filter(customer_id=customer_id).order_by("-opened_at")[:limit])
