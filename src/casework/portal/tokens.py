"""Sign-in tokens and the fingerprints the portal keeps instead of secrets (pure).

A token is 32 random bytes, URL-safe Base64 (43 characters). Only its SHA-256 is stored,
so a copy of the database does not let anyone sign in."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed(token: str) -> bool:
    return bool(_TOKEN.fullmatch(token))


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def text_sha256(text: str) -> str:
    """The fingerprint of a text as shown (UTF-8), e.g. the offer a customer accepted."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def attempt_key(kind: str, value: str) -> str:
    """What the rate limit counts under: a hash, so the table holds no addresses."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
