"""Bearer-token authentication: the token names a user; the user's agent profile gives
the actor every endpoint acts as."""

from __future__ import annotations

import time

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from casework.api.tokens import token_digest, user_for_token
from casework.kernel.actors import Actor
from casework.kernel.errors import PermissionDenied
from casework.routing.queries import actor_for_user

# Integrations send many requests with one token; looking the token, its user and the
# agent's teams up each time was a third of a small request's cost. Each process keeps a
# valid token's actor for a few seconds, so a revoked token or a changed team takes effect
# within that time.
_TOKEN_TTL_SECONDS = 10.0
_TOKEN_CACHE_LIMIT = 10_000
_known_tokens: dict[str, tuple[float, AbstractBaseUser, Actor]] = {}


def forget_cached_tokens() -> None:
    _known_tokens.clear()


def signed_in_by_token(token: str) -> tuple[AbstractBaseUser, Actor] | None:
    """The user and actor a bearer token signs in, or None for an unknown or revoked token
    or a user who is no agent."""
    key = token_digest(token)
    cached = _known_tokens.get(key)
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1], cached[2]
    user = user_for_token(token)
    if user is None:
        return None
    actor = actor_for_user(user)
    if actor is None:
        return None
    if len(_known_tokens) >= _TOKEN_CACHE_LIMIT:
        _known_tokens.clear()
    _known_tokens[key] = (time.monotonic() + _TOKEN_TTL_SECONDS, user, actor)
    return user, actor


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        signed_in = signed_in_by_token(token)
        if signed_in is None:
            return None
        request.user, actor = signed_in
        return actor


def actor_of(request: HttpRequest) -> Actor:
    actor = request.auth  # type: ignore[attr-defined]
    if not isinstance(actor, Actor):
        raise PermissionDenied(_("not signed in as an agent"))
    return actor


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied(_("only administrators may do this"))
