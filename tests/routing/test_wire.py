"""What the router process and its clients send each other: actors, items and errors come
out as they went in."""

from __future__ import annotations

from casework.kernel.actors import Actor, ActorKind, Role
from casework.kernel.errors import DomainError, PermissionDenied
from casework.routing.errors import NoPendingOffer
from casework.routing.port import RoutedItem
from casework.routing.wire import (
    actor_from_json,
    actor_to_json,
    error_from_json,
    error_to_json,
    item_from_json,
    item_to_json,
)


def test_an_actor_and_an_item_travel_unchanged():
    supervisor = Actor(ActorKind.AGENT, 7, "anna", Role.SUPERVISOR, frozenset({2, 3}))
    assert actor_from_json(actor_to_json(supervisor)) == supervisor
    assert actor_from_json(actor_to_json(Actor.system("phone"))) == Actor.system("phone")
    item = RoutedItem(1, "phone", "call-1", "offered", 7, 3, None, 12)
    assert item_from_json(item_to_json(item)) == item
    assert item_from_json(item_to_json(None)) is None


def test_errors_come_back_as_their_class_or_keep_their_code():
    sent = NoPendingOffer("no pending offer", item_id=5)
    received = error_from_json(error_to_json(sent))
    assert type(received) is NoPendingOffer
    assert (received.message, received.details, received.status) == (
        "no pending offer", {"item_id": 5}, 409,
    )  # fmt: skip
    assert type(error_from_json({"code": "permission_denied", "message": "no"})) is (
        PermissionDenied
    )
    unknown = error_from_json({"code": "something_new", "message": "new"})
    assert type(unknown) is DomainError and unknown.code == "something_new"
