"""Who owns the routing tables (docs/adr/0013): a router process holds a lease row it
renews every second; while the lease is fresh, the transactional router in other
processes refuses to write and its timers' jobs leave the work to the process."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.kernel.errors import Conflict
from casework.routing.models import RouterLease

# A lease not renewed for this long is dead: its process stopped or hangs.
LEASE_SECONDS = 5.0
RENEW_SECONDS = 1.0
# How long a process trusts what it last read about the lease (`held_elsewhere`); a new
# router process waits this long after taking the lease before it reads the tables.
CHECK_SECONDS = 1.0


class LeaseHeld(Conflict):
    code = "router_lease_held"


class RouterOwnsTables(Conflict):
    """A write through the transactional router while a router process owns the tables."""

    code = "router_owns_tables"


def owner_here() -> str:
    """This process, as a lease names its owner."""
    return f"{os.getpid()}@{socket.gethostname()}"


def take(owner: str, address: str) -> RouterLease:
    """The lease for `owner`, unless another live process holds a fresh one (a process of
    this machine that is gone — killed, crashed — holds none, however fresh its lease)."""
    now = timezone.now()  # wall-clock time: the lease is about processes, not work
    with transaction.atomic():
        lease = RouterLease.objects.select_for_update().filter(pk=1).first()
        if (
            lease is not None
            and lease.owner != owner
            and _is_fresh(lease, now)
            and not _is_gone(lease.owner)
        ):
            raise LeaseHeld(
                _("the router process %(owner)s at %(address)s owns the routing tables")
                % {"owner": lease.owner, "address": lease.address},
                owner=lease.owner,
            )
        lease, _created = RouterLease.objects.update_or_create(
            pk=1,
            defaults={"owner": owner, "address": address, "started_at": now, "renewed_at": now},
        )
    return lease


def renew(owner: str) -> bool:
    """False if the lease is no longer `owner`'s (taken over after it went stale)."""
    return bool(RouterLease.objects.filter(pk=1, owner=owner).update(renewed_at=timezone.now()))


def release(owner: str) -> None:
    """Give the lease up at once (the row stays: it keeps how far the decisions are written)."""
    RouterLease.objects.filter(pk=1, owner=owner).update(
        owner="", renewed_at=datetime(2000, 1, 1, tzinfo=UTC)
    )


def holder() -> RouterLease | None:
    """The live lease, if a router process holds one."""
    lease = RouterLease.objects.filter(pk=1).first()
    return lease if lease is not None and _is_fresh(lease, timezone.now()) else None


def held_elsewhere() -> bool:
    """Whether a router process owns the tables, as read at most `CHECK_SECONDS` ago."""
    now = time.monotonic()
    if now - _last_check[0] >= CHECK_SECONDS:
        _last_check[:] = [now, holder() is not None]
    return bool(_last_check[1])


def refuse_if_held_elsewhere() -> None:
    if held_elsewhere():
        raise RouterOwnsTables(
            _("the router process owns the routing tables; ask it (CASEWORK_ROUTER=process)")
        )


def forget_check() -> None:
    """Read the lease afresh at the next check (tests, and a process that took it)."""
    _last_check[:] = [float("-inf"), False]


def _is_gone(owner: str) -> bool:
    pid, _at, host = owner.partition("@")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's: only its lease's age tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _is_fresh(lease: RouterLease, now: datetime) -> bool:
    return lease.renewed_at > now - timedelta(seconds=LEASE_SECONDS)


_last_check: list[float | bool] = [float("-inf"), False]
