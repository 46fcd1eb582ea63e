"""Personal response codes: short enough to type, impossible to guess or forge.

A code is twelve characters of Crockford's base 32 (no I, L, O, U; read case-insensitively,
with O as 0 and I/L as 1), printed in groups of four: `K7M4-9QX2-HT3P`. The first eight are
the recipient's random token (40 bits, stored); the last four are an HMAC-SHA256 of the token
under `CASEWORK_RESPONSE_CODE_KEY` (20 bits, never stored). Guessing a valid code means
hitting an issued token *and* its signature: about one in 10^11 per attempt with ten million
codes out. A typo fails the signature, so it is reported as a wrong code, never taken for
somebody else's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 8
SIGNATURE_LENGTH = 4
CODE_LENGTH = TOKEN_LENGTH + SIGNATURE_LENGTH
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
# In a URL or on a card: the path segment after /r/, or the printed groups.
_CODE_IN_URL = re.compile(r"/r/([0-9A-Za-z]{12})(?:[/?#]|$)")
_PRINTED_CODE = re.compile(r"\b([0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z]{4})\b")


@dataclass(frozen=True)
class CheckedCode:
    token: str | None  # the recipient's token when the code is genuine
    problem: str  # "" when genuine; "malformed" or "forged" otherwise


def _key() -> bytes:
    configured = settings.CASEWORK_RESPONSE_CODE_KEY
    if configured:
        return configured.encode()
    return hashlib.sha256(b"casework-response-codes:" + settings.SECRET_KEY.encode()).digest()


def _signature(token: str) -> str:
    digest = hmac.new(_key(), token.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest[:4], "big") >> (32 - 5 * SIGNATURE_LENGTH)
    return "".join(
        ALPHABET[(number >> (5 * (SIGNATURE_LENGTH - 1 - i))) & 31] for i in range(SIGNATURE_LENGTH)
    )


def new_token() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(TOKEN_LENGTH))


def code_for(token: str) -> str:
    """The printed form of the recipient's code."""
    raw = token + _signature(token)
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def compact(code: str) -> str:
    """The code as it goes into a URL: no dashes."""
    return code.replace("-", "")


def url_for(token: str) -> str:
    return f"{settings.CASEWORK_PUBLIC_URL}/r/{compact(code_for(token))}"


def normalise(text: str) -> str:
    """A code as a person or OCR may have written it, in canonical characters."""
    return re.sub(r"[\s\-]", "", text).upper().translate(_READ_AS)


def check(text: str) -> CheckedCode:
    """Whether `text` (a typed code, a scanned QR's URL) carries a genuine code."""
    found = _CODE_IN_URL.search(text.strip()) or _PRINTED_CODE.search(text.strip())
    raw = normalise(found.group(1)) if found else normalise(text)
    if len(raw) != CODE_LENGTH or any(char not in ALPHABET for char in raw):
        return CheckedCode(token=None, problem="malformed")
    token, signature = raw[:TOKEN_LENGTH], raw[TOKEN_LENGTH:]
    if not hmac.compare_digest(signature, _signature(token)):
        return CheckedCode(token=None, problem="forged")
    return CheckedCode(token=token, problem="")
