"""IBAN validation (ISO 13616, no database): country length and the mod-97 check digits."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from casework.kernel.errors import InvalidInput

# Lengths of the SEPA countries and the most common others.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30,
    "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")


class InvalidIban(InvalidInput):
    code = "invalid_iban"


def normalise_iban(raw: str) -> str:
    iban = re.sub(r"[\s-]", "", raw).upper()
    if not _SHAPE.match(iban):
        raise InvalidIban(_("“%(value)s” is not an IBAN") % {"value": raw}, value=raw)
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is None:
        raise InvalidIban(
            _("“%(value)s”: unknown IBAN country %(country)s")
            % {"value": raw, "country": iban[:2]},
            value=raw,
        )
    if len(iban) != expected:
        raise InvalidIban(
            _("“%(value)s”: an IBAN from %(country)s has %(expected)d characters, not %(length)d")
            % {"value": raw, "country": iban[:2], "expected": expected, "length": len(iban)},
            value=raw,
        )
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    if int(digits) % 97 != 1:
        raise InvalidIban(
            _("“%(value)s”: the IBAN check digits are wrong") % {"value": raw}, value=raw
        )
    return iban


def format_iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def mask_iban(iban: str) -> str:
    """What an agent sees: country, check digits and the last four characters."""
    return f"{iban[:4]} **** **** {iban[-4:]}"
