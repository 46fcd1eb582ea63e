"""Creating and checking API bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _

from casework.api.models import ApiToken
from casework.kernel import clock
from casework.kernel.errors import NotFound

TOKEN_PREFIX = "cw_"

# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(username: str, *, description: str = "") -> str:
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(
            _("no active user “%(username)s”") % {"username": username}, username=username
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, prefix=token[:10], key_hash=token_digest(token), description=description
    )
    return token


def user_for_token(token: str) -> AbstractBaseUser | None:
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def revoke_tokens(username: str, *, description: str) -> int:
    return ApiToken.objects.filter(
        user__username=username, description=description, revoked_at__isnull=True
    ).update(revoked_at=clock.now())
