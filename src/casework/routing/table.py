"""The routing table as each process remembers it: active rules with their skills, queues
with their required skills, and skill codes. Every submitted work item reads them; they
change when an administrator edits them. A process keeps a copy for at most
`config.CONFIG_TTL_SECONDS` and drops it at once when it saves such a row itself, so an
edit takes effect at once where it was made and within seconds everywhere else."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

from django.db.models.signals import m2m_changed, post_delete, post_save

from casework.routing.config import CONFIG_TTL_SECONDS
from casework.routing.matching import Requirement
from casework.routing.models import Queue, RoutingRule, RoutingRuleSkill, Skill


@dataclass(frozen=True)
class RoutingTable:
    rules: tuple[RoutingRule, ...]  # active, in order; `skills` and both queues prefetched
    queues: dict[str, Queue]  # by code
    queue_skills: dict[int, tuple[int, ...]]  # queue id → required skill ids
    skill_ids: dict[str, int]  # skill code → id

    @cached_property
    def rule_skills(self) -> dict[int, tuple[tuple[Requirement, ...], tuple[Requirement, ...]]]:
        """Rule id → its required and its desired skills as (skill id, minimum level)."""
        return {
            rule.pk: (
                tuple((s.skill_id, s.min_level) for s in rule.skills.all() if s.is_required),
                tuple((s.skill_id, s.min_level) for s in rule.skills.all() if not s.is_required),
            )
            for rule in self.rules
        }

    @cached_property
    def longest_service_level_seconds(self) -> int:
        """The longest target of the active rules (0: none has one)."""
        return max((rule.service_level_seconds or 0 for rule in self.rules), default=0)


_loaded: tuple[float, RoutingTable] | None = None


def routing_table() -> RoutingTable:
    global _loaded
    if _loaded is None or time.monotonic() - _loaded[0] > CONFIG_TTL_SECONDS:
        _loaded = (time.monotonic(), _load())
    return _loaded[1]


def _load() -> RoutingTable:
    rules = tuple(
        RoutingRule.objects.filter(is_active=True)
        .select_related("queue", "overflow_queue")
        .prefetch_related("skills")
        .order_by("order", "pk")
    )
    queue_skills: dict[int, list[int]] = {}
    through = Queue.required_skills.through
    for queue_id, skill_id in through.objects.values_list("queue_id", "skill_id"):
        queue_skills.setdefault(queue_id, []).append(skill_id)
    return RoutingTable(
        rules=rules,
        queues={queue.code: queue for queue in Queue.objects.all()},
        queue_skills={queue: tuple(skills) for queue, skills in queue_skills.items()},
        skill_ids=dict(Skill.objects.values_list("code", "pk")),
    )


def forget_routing_table(**_signal: object) -> None:
    """After changing rules, queues or skills (admin, tests)."""
    global _loaded
    _loaded = None


for _model in (RoutingRule, RoutingRuleSkill, Queue, Skill):
    post_save.connect(forget_routing_table, sender=_model, dispatch_uid=f"routing-table-{_model}")
    post_delete.connect(
        forget_routing_table, sender=_model, dispatch_uid=f"routing-table-del-{_model}"
    )
m2m_changed.connect(
    forget_routing_table, sender=Queue.required_skills.through, dispatch_uid="routing-table-m2m"
)
