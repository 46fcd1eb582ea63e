from __future__ import annotations

import time

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
