from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.classify import texts
from casework.classify.texts import MAX_PREPARED_CHARS, has_words, prepare


def test_html_remnants_become_plain_words():
    text = "<html><style>p {color: red}</style><p>Meine&nbsp;Karte &amp; PIN</p><br/></html>"

    assert prepare(text) == "Meine Karte & PIN"


def test_the_signature_and_quoted_mail_are_not_the_customers_words():
    text = (
        "Please cancel my contract.\n\nKind regards\nMax Mustermann\nCEO\n"
        "> earlier mail that talks about invoices"
    )

    assert prepare(text) == "Please cancel my contract."


def test_a_text_that_is_only_a_signature_has_no_words():
    text = "-- \nMax Mustermann\nTel. +49 30 1234567\nwww.example.com"

    assert not has_words(prepare(text))


def test_links_and_addresses_become_placeholders():
    assert prepare("see https://example.com/x?y=1 or mail max@example.com") == (
        "see urlplaceholder or mail emailplaceholder"
    )


def test_a_megabyte_text_is_cut_quickly():
    text = ("Rechnung falsch " * 70_000) + "<" * 200_000

    started = time.perf_counter()
    prepared = prepare(text)

    assert len(prepared) <= MAX_PREPARED_CHARS
    assert time.perf_counter() - started < 0.5


def test_emoji_control_characters_and_none_do_not_break_it():
    assert prepare("😡😡😡") == "😡😡😡"
    assert not has_words(prepare("😡😡😡 !!! 123"))
    assert prepare("a\x00b\u200bc") == "abc"
    assert prepare(None) == ""


_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["kündige", "WWW.", "www.x.de", "https://a.b/c", "://", "@", "a@b.de",
                         " ", "\n", "\t", "\u00a0", "\u2003", "\x1c", "x", "Grüße", "."]),
        max_size=30,
    ).map("".join)
)  # fmt: skip
def test_prepared_text_is_what_the_expressions_alone_make_of_it(text):
    # The shortcuts (no URL or address expression where none can match, whitespace split
    # rather than substituted) must give models the very text they were trained on.
    own_words = texts._own_words(texts._CONTROL.sub("", text))
    expected = _EMAIL.sub(" emailplaceholder ", _URL.sub(" urlplaceholder ", own_words))
    expected = re.sub(r"\s+", " ", expected).strip()

    assert prepare(text) == expected[:MAX_PREPARED_CHARS]
