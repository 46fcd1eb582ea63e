"""Bearer-token authentication: the token names a user; the user's agent profile gives
the actor every endpoint acts as."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from casework.api.tokens import user_for_token
from casework.kernel.actors import Actor
from casework.kernel.errors import PermissionDenied
from casework.routing.queries import actor_for_user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        user = user_for_token(token)
        if user is None:
            return None
        actor = actor_for_user(user)
        if actor is None:
            return None
        request.user = user
        return actor


def actor_of(request: HttpRequest) -> Actor:
    actor = request.auth  # type: ignore[attr-defined]
    if not isinstance(actor, Actor):
        raise PermissionDenied(_("not signed in as an agent"))
    return actor


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied(_("only administrators may do this"))
