"""Which language a message is written in: German, English, or something else.

Pure: no Django, no trained file. A message votes with its words: frequent function words
and the everyday words of customer service in German and English, and the function words of
the languages our customers write in most often besides (so that a French or Turkish
message counts as "other" rather than as a weak English one). Letters outside the Latin
alphabet (Cyrillic, Greek, Arabic, Hebrew, CJK …) vote for "other" as well.

The word lists are written for Casework; they are no one else's data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

GERMAN = "de"
ENGLISH = "en"
OTHER = "other"
LABELS = (GERMAN, ENGLISH, OTHER)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORDS: dict[str, frozenset[str]] = {
    GERMAN: _words(
        "der die das den dem des ein eine einen einem einer eines und oder aber nicht kein "
        "keine keinen ist sind war waren wird werden wurde wurden bin bist hat habe haben "
        "hatte hatten ich du er sie es wir ihr mich mir mein meine meinen meinem meiner dich "
        "dir dein deine ihnen ihre ihren ihrem ihrer unser unsere uns euch sich mit von zu "
        "zum zur auf für fuer bei nach aus über ueber unter vor durch gegen ohne um bis seit "
        "noch schon auch nur sehr mehr bitte danke vielen dank gerne hallo guten tag morgen "
        "abend sehr geehrte geehrter damen herren wie was wann warum wieso weshalb wo woher "
        "wohin welche welcher welches dass daß wenn weil ob als dann denn doch mal jetzt "
        "heute gestern immer nie kann können koennen könnte muss müssen muessen soll sollte "
        "will möchte moechte würde wuerde darf dürfen hier dort schon leider bereits wieder "
        "nochmal einfach ja nein nicht rechnung vertrag kündigung kuendigung kündigen konto "
        "karte zahlung überweisung lastschrift bestellung lieferung rückerstattung erstattung "
        "geld betrag frage problem beschwerde termin kunde kundennummer adresse änderung "
        "aendern ändern anruf antwort mitteilung störung stoerung funktioniert zug bahn fahrt "
        "verspätung verspaetung"
    ),
    ENGLISH: _words(
        "the a an and or but not no is are was were be been being am has have had do does did "
        "i you he she it we they me my mine your yours him his her its our us them their this "
        "that these those there here what when why how where which who whom whose to of in on "
        "at for with from by about into over after before under again can could would should "
        "will shall may might must please thanks thank hello hi dear sir madam yes still just "
        "already yet if then than so because as up out off any some all my get got want need "
        "refund account card payment transfer money charge charged fee order delivery invoice "
        "bill contract cancel cancellation help problem issue complaint question address "
        "change phone call answer working works arrived received top balance pending declined"
    ),
    "fr": _words(
        "le la les un une des et ou est sont je tu il elle nous vous ils mon ma mes votre vos "
        "pour avec dans sur pas que qui merci bonjour madame monsieur ce cette au aux du être "
        "avoir fait très"
    ),
    "es": _words(
        "el la los las un una unos y o es son yo tú usted él ella nosotros mi mis su sus para "
        "con en por que qué gracias hola señor señora del al muy pero como está"
    ),
    "it": _words(
        "il lo la gli le un una e o è sono io tu lui lei noi voi mio mia suo sua per con di "
        "che non grazie buongiorno signore signora del della questo questa molto"
    ),
    "nl": _words(
        "de het een en of is zijn ik jij je hij zij wij jullie mijn uw voor met van op niet "
        "dat wat bedankt dank hallo meneer mevrouw ook maar hebben heb graag"
    ),
    "tr": _words(
        "ve bir bu şu o ben sen biz siz onlar için ile değil ne nasıl teşekkür teşekkürler "
        "merhaba lütfen evet hayır çok ama da de mi mı var yok"
    ),
    "pl": _words(
        "i w z na do nie jest są ja ty on ona my wy mój moja dla że co jak dziękuję dzień "
        "dobry proszę tak ale czy się to"
    ),
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_UMLAUT = re.compile(r"[äöüß]", re.IGNORECASE)
_NON_LATIN = re.compile(
    r"[\u0370-\u03ff\u0400-\u052f\u0590-\u06ff\u0900-\u0dff\u0e00-\u0eff"
    r"\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)
# Words read per message: enough for a stable vote, cheap for long texts.
_MAX_WORDS = 200
# Each word's languages, so that a word is looked up once, not once per language.
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _language, _vocabulary in _WORDS.items():
    for _word in _vocabulary:
        _LANGUAGES_OF[_word] = (*_LANGUAGES_OF.get(_word, ()), _language)


@dataclass(frozen=True)
class LanguageGuess:
    label: str  # "de", "en" or "other"
    confidence: float  # 0 … 1; 0 when nothing in the text speaks for any language


def detect_language(text: str) -> LanguageGuess:
    """The language of `text` (already passed through `texts.prepare` or raw)."""
    sample = text[:4000]
    words = _WORD.findall(sample.lower())[:_MAX_WORDS]
    votes = dict.fromkeys(_WORDS, 0.0)
    for word in words:
        for language in _LANGUAGES_OF.get(word, ()):
            votes[language] += 1.0
    # Umlauts and ß are strong German evidence even in a text of one word ("Kündigung").
    votes[GERMAN] += min(3.0, 0.75 * len(_UMLAUT.findall(sample)))
    non_latin = len(_NON_LATIN.findall(sample))
    latin = sum(len(word) for word in words) - non_latin
    other_script = non_latin / max(1, non_latin + max(0, latin))
    votes[OTHER] = other_script * max(3.0, 0.5 * len(words))
    for language in ("fr", "es", "it", "nl", "tr", "pl"):
        votes[OTHER] = max(votes[OTHER], votes.pop(language))

    total = sum(votes.values())
    if total <= 0:
        return LanguageGuess(OTHER, 0.0)
    best = max(votes, key=lambda language: votes[language])
    share = votes[best] / total
    # Few votes leave room for doubt however clear the share: one word is weak evidence.
    certainty = 1.0 - math.exp(-total / 2.5)
    return LanguageGuess(best, round(share * certainty, 4))
