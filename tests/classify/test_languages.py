from __future__ import annotations

import pytest

from casework.classify.languages import detect_language


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Hallo, meine Karte ist noch nicht angekommen.", "de"),
        ("Kündigung", "de"),
        ("Die Bahn ist mal wieder zu spät", "de"),
        ("I am still waiting on my card, can you help?", "en"),
        ("Can I get an actual card", "en"),
        ("Bonjour, je voudrais annuler ma commande", "other"),
        ("Hola, quiero cancelar mi pedido por favor", "other"),
        ("Здравствуйте, где мой заказ?", "other"),
        ("您好，我的订单在哪里", "other"),
    ],
)
def test_language(text: str, label: str):
    assert detect_language(text).label == label


@pytest.mark.parametrize("text", ["", "😀😀😀", "12345 !!!", "   "])
def test_nothing_to_read_is_other_without_confidence(text: str):
    guess = detect_language(text)

    assert (guess.label, guess.confidence) == ("other", 0.0)


def test_more_words_mean_more_confidence():
    short = detect_language("bitte")
    long = detect_language("Sehr geehrte Damen und Herren, bitte kündigen Sie meinen Vertrag.")

    assert short.label == long.label == "de"
    assert short.confidence < long.confidence
