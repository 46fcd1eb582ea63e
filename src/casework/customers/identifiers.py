"""Normalising the ways a customer is recognised (no database).

Every identifier is stored in exactly one canonical spelling, so matching is an indexed
equality lookup: e-mail addresses lower-cased with the domain in IDNA (punycode) form,
phone numbers in E.164, customer numbers and portal accounts trimmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.kernel.errors import InvalidInput

DEFAULT_PHONE_REGION = "DE"


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CUSTOMER_NUMBER = "customer_number"
    PORTAL_ACCOUNT = "portal_account"

    @property
    def label(self) -> str:
        return str(_IDENTIFIER_LABELS[self])


_IDENTIFIER_LABELS = {
    IdentifierKind.EMAIL: gettext_lazy("e-mail address"),
    IdentifierKind.PHONE: gettext_lazy("phone number"),
    IdentifierKind.CUSTOMER_NUMBER: gettext_lazy("customer number"),
    IdentifierKind.PORTAL_ACCOUNT: gettext_lazy("portal account"),
}


class InvalidIdentifier(InvalidInput):
    code = "invalid_identifier"


@dataclass(frozen=True)
class Identifier:
    kind: IdentifierKind
    value: str


# Deliberately permissive on the local part (RFC 5322 allows much); strict on structure.
_LOCAL_PART = re.compile(r"^[^\s@\"(),:;<>\[\\\]]{1,64}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_email(raw: str) -> str:
    text = raw.strip().strip("<>").strip()
    if text.count("@") != 1:
        raise InvalidIdentifier(
            _("“%(value)s” is not an e-mail address") % {"value": raw}, kind="email", value=raw
        )
    local, domain = text.split("@")
    if (
        not _LOCAL_PART.match(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise InvalidIdentifier(
            _("“%(value)s”: the part before @ is not valid") % {"value": raw},
            kind="email",
            value=raw,
        )
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise InvalidIdentifier(
            _("“%(value)s”: the domain is not valid") % {"value": raw}, kind="email", value=raw
        ) from error
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise InvalidIdentifier(
            _("“%(value)s”: the domain is not valid") % {"value": raw}, kind="email", value=raw
        )
    return f"{local.lower()}@{ascii_domain}"


def normalise_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 for German and international spellings: `0171 1234567`, `+49 (0)30 1234567`,
    `0049 30 1234567`, `(030) 123 45 67`."""
    # "+49 (0)30" writes the trunk prefix in brackets; it must go, or it becomes a digit.
    text = re.sub(r"\(0\)", "", raw.strip())
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidIdentifier(
            _("“%(value)s” is not a phone number") % {"value": raw}, kind="phone", value=raw
        ) from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier(
            _("“%(value)s” is not a valid phone number") % {"value": raw}, kind="phone", value=raw
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_plain(raw: str, kind: IdentifierKind) -> str:
    text = " ".join(raw.split())
    if not text or len(text) > 100:
        raise InvalidIdentifier(
            _("“%(value)s” is not a valid %(kind)s") % {"value": raw, "kind": kind.value},
            kind=kind.value,
            value=raw,
        )
    return text


def normalise(kind: IdentifierKind | str, raw: str) -> Identifier:
    try:
        kind = IdentifierKind(kind)
    except ValueError as error:
        known = ", ".join(k.value for k in IdentifierKind)
        raise InvalidIdentifier(
            _("unknown identifier kind “%(kind)s” (known: %(known)s)")
            % {"kind": kind, "known": known},
            kind=str(kind),
            value=raw,
        ) from error
    if kind == IdentifierKind.EMAIL:
        return Identifier(kind, normalise_email(raw))
    if kind == IdentifierKind.PHONE:
        return Identifier(kind, normalise_phone(raw))
    return Identifier(kind, normalise_plain(raw, kind))


def format_phone_national(e164: str) -> str:
    """For display: German numbers in national format, others international."""
    number = phonenumbers.parse(e164, None)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 49
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
