"""What a classifier reads of a message: the customer's own words, bounded in length.

Pure: no Django. The same `prepare()` runs when training and when classifying, so a model
never sees text shaped differently from what it learnt from. It never raises: HTML remnants,
quoted replies, signatures, control characters and megabyte-long texts all come out as a
short plain string, possibly empty.
"""

from __future__ import annotations

import html
import re

# The intent of a message is in its first paragraphs; longer texts cost time, not accuracy.
MAX_PREPARED_CHARS = 3000
# Cut before any regular expression runs, so a 1 MB text costs as much as a short one.
_MAX_RAW_CHARS = 4 * MAX_PREPARED_CHARS

_TAG = re.compile(r"<[^<>]{0,500}>")
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_MAY_HAVE_URL = re.compile(r"://|www\.", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")
# A line that opens the signature: the "-- " delimiter (RFC 3676) or a closing formula.
_SIGNATURE_START = re.compile(
    r"^\s*(?:--\s*|_{3,}\s*|"
    r"(?:mit\s+)?(?:freundlichen|besten|herzlichen|lieben|viele|beste|liebe|schöne)\s+gr(?:ü|ue)(?:ß|ss)en?"
    r"|mfg|lg|vg|gru(?:ß|ss)|(?:best|kind|warm)\s+regards|regards|sincerely(?:\s+yours)?|"
    r"yours\s+(?:sincerely|faithfully)|cheers|thanks\s+and\s+regards|sent\s+from\s+my\s+\w+|"
    r"von\s+meinem\s+\w+\s+gesendet)[\s,.!]*$",
    re.IGNORECASE,
)
_QUOTE_HEADER = re.compile(
    r"^\s*(?:am\s.{0,80}schrieb|on\s.{0,80}wrote|-{2,}\s*(?:original|ursprüngliche))",
    re.IGNORECASE,
)


def prepare(text: object) -> str:
    """The text a model sees: tags, quoted replies and the signature removed, addresses and
    links replaced by placeholders, whitespace collapsed, at most MAX_PREPARED_CHARS long."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = text[:_MAX_RAW_CHARS]
    if "<" in text:
        text = _TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROL.sub("", text)
    text = _own_words(text)
    # Each expression runs only where it can match (it scans every word boundary otherwise).
    if _MAY_HAVE_URL.search(text):
        text = _URL.sub(" urlplaceholder ", text)
    if "@" in text:
        text = _EMAIL.sub(" emailplaceholder ", text)
    # str.split() splits where `\s+` matches (the same Unicode whitespace) and strips.
    return " ".join(text.split())[:MAX_PREPARED_CHARS]


def has_words(prepared: str) -> bool:
    """Whether anything is left to classify: at least two letters of some alphabet."""
    found = _LETTER.findall(prepared[:200])
    return len(found) >= 2


def _own_words(text: str) -> str:
    """The lines before the signature and before the quoted earlier mail."""
    if "\n" not in text:
        return text
    kept = []
    for line in text.splitlines():
        if line.lstrip().startswith(">"):
            continue
        if _SIGNATURE_START.match(line) or _QUOTE_HEADER.match(line):
            break
        kept.append(line)
    return "\n".join(kept)
