"""Search terms from free text, without a database: stop words, spellings, stems, and the
query expressions that must stay valid whatever was typed."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from casework.knowledge.terms import (
    MAX_TERMS,
    coverage,
    excerpt,
    fts5_query,
    search_terms,
    stem,
    tsquery_text,
)


def words(text: str) -> list[str]:
    return [term.word for term in search_terms(text)]


def test_stop_words_greetings_and_bare_numbers_are_not_searched():
    assert words("Hallo, ich habe eine Frage zu meiner Rechnung 4711. Mit freundlichen Grüßen") == [
        "frage",
        "rechnung",
    ]
    assert words("Dear team, please cancel my contract. Kind regards") == [
        "team",
        "cancel",
        "contract",
    ]


def test_a_long_message_keeps_the_most_telling_words():
    message = " ".join(["Tarif"] * 3 + [f"wort{n}" for n in range(30)] + ["Auslandstelefonie"])

    kept = words(message)

    assert len(kept) == MAX_TERMS
    assert "tarif" in kept and "auslandstelefonie" in kept


def test_spellings_cover_sharp_s_and_umlauts_written_out():
    (strasse,) = search_terms("Strasse")
    (gebuehren,) = search_terms("Gebuehren")

    assert strasse.spellings == ("strasse", "straße")
    assert gebuehren.spellings == ("gebuehren", "gebühren")


def test_common_endings_are_cut_for_the_prefix_match():
    assert stem("tarife") == "tarif"
    assert stem("verträge") == "verträg"
    assert stem("tariffs") == "tariff"
    assert stem("sim") == "sim"  # too short to cut


def test_nothing_searchable_gives_no_terms():
    assert search_terms("") == []
    assert search_terms("!!! ??? ... 123 ---") == []
    assert search_terms("und oder the and") == []


@given(st.text(max_size=300))
def test_query_expressions_hold_only_quoted_words(text: str):
    terms = search_terms(text)
    fts5 = fts5_query(terms)
    tsquery = tsquery_text(terms)

    if not terms:
        assert fts5 == "" and tsquery == ""
        return
    for part in fts5.split(" OR "):
        assert re.fullmatch(r'"[^\W_]+"\*', part), part
    for part in tsquery.split(" | "):
        assert re.fullmatch(r"'[^\W_]+':\*", part), part


def test_coverage_counts_terms_found_as_word_prefixes():
    terms = search_terms("Gebuehren Strasse Mond")

    assert coverage(terms, "Die Gebühren für die Straße") == 2 / 3
    assert coverage(terms, "nichts davon") == 0.0


def test_the_excerpt_is_cut_around_the_matches():
    match = "Mit der Option Welt telefonieren Sie günstig im Ausland. "
    text = "Anfang. " * 40 + match + "Ende. " * 40

    passage = excerpt(text, search_terms("Ausland Option"))

    assert "Option Welt telefonieren" in passage
    assert passage.startswith("…") and passage.endswith("…")
    assert len(passage) <= 230
