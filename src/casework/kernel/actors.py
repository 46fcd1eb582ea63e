"""Who caused a change: an agent (signed-in user), a customer, or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


class Role(StrEnum):
    """What a signed-in person may do. Agents work their teams' cases; supervisors also
    reassign within their teams and see team reports; admins see and configure everything."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: int | None
    label: str
    role: Role | None = None
    team_ids: frozenset[int] = frozenset()

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, id=None, label=f"system:{component}")

    @classmethod
    def customer(cls, customer_id: int) -> Actor:
        return cls(kind=ActorKind.CUSTOMER, id=customer_id, label=f"customer:{customer_id}")

    @property
    def is_admin(self) -> bool:
        return self.kind == ActorKind.SYSTEM or self.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        return self.is_admin or self.role == Role.SUPERVISOR
