"""Secrets we must be able to read back (a mailbox's IMAP password), stored encrypted.

Fernet (AES-128-CBC with HMAC-SHA256) under `CASEWORK_ENCRYPTION_KEY`, or, when that is not
set, a key derived from the secret key — so a copy of the database alone does not give
away the passwords. A stored value starts with `fernet:`; anything else is a value from
before encryption and is read as it is (and encrypted when it is saved next)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PREFIX = "fernet:"


class UnreadableSecret(ValueError):
    """The value was encrypted under another key (a changed secret key)."""


def _fernet() -> Fernet:
    key = settings.CASEWORK_ENCRYPTION_KEY
    if not key:
        digest = hashlib.sha256(b"casework-secrets:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(plain: str) -> str:
    if not plain or plain.startswith(PREFIX):
        return plain
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise UnreadableSecret(
            "a stored secret cannot be read with the current key "
            "(CASEWORK_ENCRYPTION_KEY or the secret key changed)"
        ) from error
