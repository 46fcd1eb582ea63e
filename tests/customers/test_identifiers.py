from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.customers.iban import InvalidIban, mask_iban, normalise_iban
from casework.customers.identifiers import (
    InvalidIdentifier,
    format_phone_national,
    normalise,
    normalise_email,
    normalise_phone,
)


@pytest.mark.parametrize(
    "spelling",
    [
        "0171 1234567",
        "+49 171 1234567",
        "0049 171 1234567",
        "+49 (0)171 1234567",
        "0171/1234567",
        "(0171) 123 45 67",
        "+491711234567",
    ],
)
def test_german_mobile_spellings_normalise_to_one_e164(spelling):
    assert normalise_phone(spelling) == "+491711234567"


@pytest.mark.parametrize("spelling", ["030 1234567", "+49 (0)30 1234567", "0049301234567"])
def test_berlin_landline_spellings(spelling):
    assert normalise_phone(spelling) == "+49301234567"


@pytest.mark.parametrize("bad", ["12", "abc", "", "0171", "+49 0000"])
def test_invalid_phone_numbers_are_refused(bad):
    with pytest.raises(InvalidIdentifier):
        normalise_phone(bad)


def test_phone_is_shown_in_national_format_for_germany_only():
    assert format_phone_national("+491711234567") == "0171 1234567"
    assert format_phone_national("+16502530000").startswith("+1 650")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Max.Mustermann@Example.DE", "max.mustermann@example.de"),
        ("  <lisa@example.org> ", "lisa@example.org"),
        ("jürgen@müller.de", "jürgen@xn--mller-kva.de"),
        ("info@MÜLLER.de", "info@xn--mller-kva.de"),
    ],
)
def test_email_addresses_normalise_case_insensitively_and_idn_safe(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "bad", ["plain", "a@b", "two@@example.de", "a b@example.de", ".dot@example.de", "x@-bad-.de"]
)
def test_invalid_email_addresses_are_refused(bad):
    with pytest.raises(InvalidIdentifier):
        normalise_email(bad)


def test_unknown_identifier_kind_names_the_known_ones():
    with pytest.raises(InvalidIdentifier, match="known: email, phone"):
        normalise("fax", "123")


@given(st.emails())
def test_normalising_an_email_twice_changes_nothing(address):
    try:
        once = normalise_email(address)
    except InvalidIdentifier:
        return
    assert normalise_email(once) == once


def test_valid_ibans_are_normalised_and_masked():
    assert normalise_iban("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert mask_iban("DE89370400440532013000") == "DE89 **** **** 3000"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("DE89 3704 0044 0532 0130 01", "check digits"),
        ("DE89 3704 0044 0532 0130", "22 characters"),
        ("XX89 3704 0044 0532 0130 00", "unknown IBAN country"),
        ("not an iban", "is not an IBAN"),
    ],
)
def test_invalid_ibans_say_what_is_wrong(bad, reason):
    with pytest.raises(InvalidIban, match=reason):
        normalise_iban(bad)
