"""From what someone typed — two words or a whole customer e-mail — to search terms, and the
little text matching that must give the same answer on every database (term coverage,
excerpts, reply-template matching). Pure: no Django, no database.

A query's words are lower-cased; stop words (German and English, greetings included) and
bare numbers are dropped; of a long text, the `MAX_TERMS` most telling words are kept (the
repeated and the long ones: in German the long words are the specific ones). Each term
carries the spellings to look for: as typed, with "ss" for "ß" (and back), and with the
umlaut for "ae"/"oe"/"ue" ("Gebuehren" finds "Gebühren"). The search backends match every
spelling as a prefix of a word, after cutting a common ending off ("Tarife" → "tarif*" finds
"Tarif", "Tarifen" and "Tarifwechsel"). Terms consist of letters and digits only, so no
input can reach the search engines' query syntax.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_TERMS = 12
MIN_STEM = 4
# A stem this long is also looked for inside words (German compounds).
COMPOUND_PART = 5
WORD = re.compile(r"[^\W_]+")
# Endings cut off for the prefix match, longest first; German and English alike, because a
# query's language is often unknown. A stem keeps at least MIN_STEM letters.
ENDINGS = ("ing", "ern", "en", "er", "es", "em", "ed", "e", "s", "n")

_STOP_WORDS_TEXT = """
    a about after again all also am an and any are as at be because been before being but
    by can could did do does doing down for from had has have having he her here hers him
    his how i if in into is it its just me more most my no nor not now of off on once only
    or other our ours out over own same she should so some such than that the their them
    then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself
    hello hi dear regards kind best thanks thank please sincerely
    aber alle allem allen aller alles als also am an ans auch auf aus bei beim bin bis bist
    da dadurch daher damit dann das dass dein deine dem den denn der des dessen deshalb die
    dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer
    eines er es euer eure für fur gegen habe haben hat hatte hätte ich ihm ihn ihnen ihr
    ihre ihrem ihren ihrer im in ins ist ja jede jedem jeden jeder jedes jetzt kann kein
    keine keinem keinen keiner können konnen könnte man mein meine meinem meinen meiner
    mich mir mit muss nach nicht noch nun nur ob oder ohne sehr sein seine sich sie sind
    so soll sollte sondern um und uns unser unsere unter vom von vor war waren warum was
    weil wenn wer werde werden wie wieder wir wird wo würde wurde zu zum zur über uber
    hallo guten tag morgen abend liebe lieber sehr geehrte geehrter geehrtes damen herren
    frau herr grüße grüßen gruß gruss grusse freundlichen freundliche mfg lg vg bitte danke
    vielen dank beste herzliche viele
    welche welcher welches welchem welchen gibt gibts fürs furs möchte mochte möchten
    gern gerne brauche bräuchte geht gehts wäre würden könnten etwas mal bei hier
    want would like need get got tell know
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


@dataclass(frozen=True)
class Term:
    word: str  # lower-case, as typed
    spellings: tuple[str, ...]  # the word and its other spellings (ß/ss, ü/ue …)

    @property
    def prefixes(self) -> tuple[str, ...]:
        """What the SQLite index matches as word prefixes."""
        return tuple(dict.fromkeys(stem(spelling) for spelling in self.spellings))


def search_terms(text: str, *, limit: int = MAX_TERMS) -> list[Term]:
    """The terms to search for, in the order they were typed."""
    words = [word.lower() for word in WORD.findall(text or "")]
    words = [word for word in words if _is_telling(word)]
    if not words:
        return []
    counts = Counter(words)
    distinct = list(dict.fromkeys(words))
    if len(distinct) > limit:
        ranked = sorted(distinct, key=lambda word: (-(len(word) + 3 * (counts[word] - 1))))
        keep = set(ranked[:limit])
        distinct = [word for word in distinct if word in keep]
    return [Term(word, spellings(word)) for word in distinct]


def _is_telling(word: str) -> bool:
    if len(word) < 2 or word.isdigit() or word in STOP_WORDS:
        return False
    return fold(word) not in STOP_WORDS


def spellings(word: str) -> tuple[str, ...]:
    found = [word]
    if "ß" in word:
        found.append(word.replace("ß", "ss"))
    if "ss" in word:
        found.append(word.replace("ss", "ß"))
    umlauts = word.replace("ae", "ä").replace("oe", "ö").replace("ue", "ü")
    if umlauts != word:
        found.append(umlauts)
    return tuple(dict.fromkeys(found))


def stem(word: str) -> str:
    for ending in ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= MIN_STEM:
            return word[: -len(ending)]
    return word


def fold(text: str) -> str:
    """Lower case without diacritics, "ß" as "ss": how Python-side matching compares."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fts5_query(terms: Sequence[Term]) -> str:
    """An FTS5 MATCH expression: any term's spelling as a word prefix ("tarif"* OR …)."""
    prefixes = dict.fromkeys(prefix for term in terms for prefix in term.prefixes)
    return " OR ".join('"' + prefix.replace('"', '""') + '"*' for prefix in prefixes)


def tsquery_text(terms: Sequence[Term]) -> str:
    """A `to_tsquery()` text: any term's spelling, stemmed by PostgreSQL, as a prefix."""
    words = dict.fromkeys(spelling for term in terms for spelling in term.spellings)
    # Quoted: a word PostgreSQL's parser does not see as one (a lone "½") is then dropped
    # instead of leaving a dangling ":*".
    return " | ".join(f"'{word}':*" for word in words)


def _folded_prefixes(terms: Iterable[Term]) -> list[tuple[str, ...]]:
    return [tuple(dict.fromkeys(fold(prefix) for prefix in term.prefixes)) for term in terms]


def _folded_words(text: str) -> list[str]:
    return [fold(word) for word in WORD.findall(text)]


def coverage(terms: Sequence[Term], text: str) -> float:
    """The share of the terms found in `text` (0 … 1), each as a prefix of a word, or
    inside a word when it is long enough to be a compound's part ("tarif" in
    "Auslandstarife")."""
    if not terms:
        return 0.0
    words = set(_folded_words(text))
    found = sum(
        1
        for prefixes in _folded_prefixes(terms)
        if any(_contains(word, prefix) for word in words for prefix in prefixes)
    )
    return found / len(terms)


def _contains(word: str, prefix: str) -> bool:
    return word.startswith(prefix) or (len(prefix) >= COMPOUND_PART and prefix in word)


def title_coverage(terms: Sequence[Term], title: str) -> float:
    """The share of the terms found anywhere in the title, inside words too: a German
    compound in a title ("Auslandstarife") names the topic of both its parts."""
    if not terms:
        return 0.0
    folded = " ".join(_folded_words(title))
    found = sum(
        1 for prefixes in _folded_prefixes(terms) if any(prefix in folded for prefix in prefixes)
    )
    return found / len(terms)


def excerpt(text: str, terms: Sequence[Term], *, width: int = 220) -> str:
    """A passage of about `width` characters around the densest cluster of matches, cut at
    word boundaries, with "…" where it is cut; the text's start if nothing matches."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    prefixes = [prefix for group in _folded_prefixes(terms) for prefix in group]
    positions = [
        match.start()
        for match in WORD.finditer(text)
        if any(fold(match.group()).startswith(prefix) for prefix in prefixes)
    ]
    start = 0
    if positions:
        best = max(positions, key=lambda at: sum(1 for p in positions if at <= p < at + width))
        start = max(0, best - width // 4)
    end = min(len(text), start + width)
    start = max(0, end - width)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 30 else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")
