"""What a waiting work item asks of an agent, and how that relaxes while it waits (pure).

A plan is fixed when the item is queued: hard requirements (the queue's skills, the rule's
required skills, the item's own skills), desired skills with minimum levels, the customer's
preferred agent, and the timings. `needs_at(plan, waited)` says what the item asks after
waiting that long:

- for `affinity_wait_seconds`, only the preferred agent (with the hard skills) may take it;
- then any agent with the hard skills and the desired skills at their levels, where every
  `relax_after_seconds` lowers each desired level by `relax_levels` until it vanishes;
- after `overflow_after_seconds`, the overflow queue's skills replace the queue's own (the
  item may go to the next tier).

Among agents who qualify, the router takes the least occupied, then the longest idle. An
agent who frees up takes the waiting item that ranks first (`rank`): with a service level
target (`service_level_seconds`), items still inside it before those that have missed it;
then by urgency (priority, aged by waiting), then the longest waiting.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

Requirement = tuple[int, int]  # (skill id, minimum proficiency)


@dataclass(frozen=True)
class RoutingPlan:
    required: tuple[Requirement, ...] = ()
    desired: tuple[Requirement, ...] = ()
    overflow_required: tuple[Requirement, ...] | None = None
    preferred_agent_id: int | None = None
    affinity_wait_seconds: int = 0
    relax_after_seconds: int = 30
    relax_levels: int = 3
    overflow_after_seconds: int | None = None
    # Waiting this long counts as one priority level more when agents pick waiting items.
    aging_seconds_per_level: int = 60
    # While waiting less than this, the item goes before waiting items that already missed
    # their target (0: no target).
    service_level_seconds: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "required": [list(r) for r in self.required],
            "desired": [list(r) for r in self.desired],
            "overflow_required": (
                None
                if self.overflow_required is None
                else [list(r) for r in self.overflow_required]
            ),
            "preferred_agent_id": self.preferred_agent_id,
            "affinity_wait_seconds": self.affinity_wait_seconds,
            "relax_after_seconds": self.relax_after_seconds,
            "relax_levels": self.relax_levels,
            "overflow_after_seconds": self.overflow_after_seconds,
            "aging_seconds_per_level": self.aging_seconds_per_level,
            "service_level_seconds": self.service_level_seconds,
        }

    @cached_property
    def change_times(self) -> tuple[float, ...]:
        """The waiting times (s) at which what the item asks changes, in order."""
        return tuple(sorted(_change_times(self)))

    @cached_property
    def _needs_by_stretch(self) -> dict[int, Needs]:
        return {}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoutingPlan:
        overflow = data.get("overflow_required")
        return cls(
            required=_pairs(data.get("required", ())),
            desired=_pairs(data.get("desired", ())),
            overflow_required=None if overflow is None else _pairs(overflow),
            preferred_agent_id=data.get("preferred_agent_id"),
            affinity_wait_seconds=int(data.get("affinity_wait_seconds", 0)),
            relax_after_seconds=int(data.get("relax_after_seconds", 30)),
            relax_levels=int(data.get("relax_levels", 3)),
            overflow_after_seconds=data.get("overflow_after_seconds"),
            aging_seconds_per_level=int(data.get("aging_seconds_per_level", 60)),
            service_level_seconds=int(data.get("service_level_seconds", 0)),
        )


def _pairs(values: Iterable[Iterable[int]]) -> tuple[Requirement, ...]:
    return tuple((int(skill), int(level)) for skill, level in values)


@dataclass(frozen=True)
class Needs:
    """What the item asks right now: every (skill, level) in `skills`, and if `only_agent_id`
    is set, that agent only. `changes_after` is the waiting time (s) at which this changes
    next, or None if it never will."""

    skills: tuple[Requirement, ...]
    only_agent_id: int | None = None
    changes_after: float | None = None
    is_overflow: bool = False
    hard: tuple[Requirement, ...] = field(default=())


def merge(requirements: Iterable[Requirement]) -> tuple[Requirement, ...]:
    """One entry per skill, at the highest level asked for, sorted by skill id."""
    levels: dict[int, int] = {}
    for skill, level in requirements:
        levels[skill] = max(level, levels.get(skill, 0))
    return tuple(sorted(levels.items()))


def hard_requirements(plan: RoutingPlan, waited: float) -> tuple[Requirement, ...]:
    if is_overflowed(plan, waited):
        return merge(plan.overflow_required or ())
    return merge(plan.required)


def is_overflowed(plan: RoutingPlan, waited: float) -> bool:
    return (
        plan.overflow_required is not None
        and plan.overflow_after_seconds is not None
        and waited >= plan.overflow_after_seconds
    )


def desired_at(plan: RoutingPlan, waited: float) -> tuple[Requirement, ...]:
    """The desired skills still in force after waiting `waited` seconds, at their levels."""
    if not plan.desired:
        return ()
    steps = math.floor(waited / plan.relax_after_seconds) if plan.relax_after_seconds else 0
    lowered = ((skill, level - steps * plan.relax_levels) for skill, level in plan.desired)
    return tuple((skill, level) for skill, level in lowered if level > 0)


def needs_at(plan: RoutingPlan, waited: float) -> Needs:
    """What the item asks after waiting `waited` seconds. It changes only at the plan's
    change times, so it is worked out once per stretch between them and kept with the plan
    (the router asks for every waiting item whenever an agent frees up)."""
    times = plan.change_times
    stretch = bisect_right(times, waited)
    needs = plan._needs_by_stretch.get(stretch)
    if needs is None:
        start = times[stretch - 1] if stretch else 0.0
        needs = plan._needs_by_stretch[stretch] = _needs_at(plan, start)
    return needs


def _needs_at(plan: RoutingPlan, waited: float) -> Needs:
    hard = hard_requirements(plan, waited)
    overflow = is_overflowed(plan, waited)
    changes = _change_times(plan)
    later = [at for at in changes if at > waited]
    changes_after = min(later) if later else None
    if plan.preferred_agent_id is not None and waited < plan.affinity_wait_seconds:
        return Needs(hard, plan.preferred_agent_id, changes_after, overflow, hard)
    skills = merge((*hard, *desired_at(plan, waited)))
    return Needs(skills, None, changes_after, overflow, hard)


def _change_times(plan: RoutingPlan) -> list[float]:
    times: list[float] = []
    if plan.preferred_agent_id is not None and plan.affinity_wait_seconds > 0:
        times.append(float(plan.affinity_wait_seconds))
    if plan.desired and plan.relax_after_seconds and plan.relax_levels:
        highest = max(level for _, level in plan.desired)
        steps = math.ceil(highest / plan.relax_levels)
        times += [float(step * plan.relax_after_seconds) for step in range(1, steps + 1)]
    if plan.overflow_required is not None and plan.overflow_after_seconds is not None:
        times.append(float(plan.overflow_after_seconds))
    return times


def qualifies(agent_id: int, agent_skills: Mapping[int, int], needs: Needs) -> bool:
    if needs.only_agent_id is not None and needs.only_agent_id != agent_id:
        return False
    return all(agent_skills.get(skill, -1) >= level for skill, level in needs.skills)


def requirement_key(requirements: Iterable[Requirement]) -> str:
    """A canonical spelling of requirements, e.g. "4:1,12:5" (skill ids ascending)."""
    return ",".join(f"{skill}:{level}" for skill, level in merge(requirements))


def parse_requirement_key(key: str) -> tuple[Requirement, ...]:
    if not key:
        return ()
    return tuple(
        (int(skill), int(level)) for skill, level in (part.split(":") for part in key.split(","))
    )


def urgency(priority: int, waited: float, aging_seconds_per_level: int) -> float:
    """The priority a waiting item competes with: one level more per `aging_seconds_per_level`
    waited, so low-priority work is not starved by a steady stream of higher priorities."""
    if aging_seconds_per_level <= 0:
        return float(priority)
    return priority + waited / aging_seconds_per_level


def within_target(plan: RoutingPlan, waited: float) -> bool:
    """Whether the item can still be answered within its service level target."""
    return waited < plan.service_level_seconds


Rank = tuple[bool, float]


def rank(priority: int, waited: float, plan: RoutingPlan) -> Rank:
    """How an agent who frees up orders the waiting items they may take: the higher the
    better; equal ranks go to the longest waiting. At a peak, serving the longest waiting
    first makes everybody wait past the target; serving first those who can still make it
    answers most of them in time, and those who missed it wait longer (docs/routing.md)."""
    return within_target(plan, waited), urgency(priority, waited, plan.aging_seconds_per_level)
