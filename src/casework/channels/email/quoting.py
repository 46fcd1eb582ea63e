"""Separating the new part of a reply from the quoted history and the signature (pure).

What counts as quoted history, as German and English mail clients write it:

- lines starting with ">" (any client's plain text; `html_text` turns `<blockquote>` into them;
  also " >" and Supercite's "BS> "), together with the attribution line above them: "On Mon,
  3 Mar 2025, Anna wrote:",
  "Am 03.03.2025 um 10:15 schrieb Anna Müller <anna@example.de>:", "Anna <a@b> hat am
  03.03.2025 10:15 geschrieben:" (Lotus Notes), also when the client wrapped it over lines;
- everything from Outlook's separators on: "-----Original Message-----",
  "-----Ursprüngliche Nachricht-----", GMX/WEB.DE's "-------- Original-Nachricht --------",
  and Outlook's header block without a separator ("From:/Von:" followed by "Sent:/Gesendet:/
  Date:/Datum:" and "To:/An:/Subject:/Betreff:"), which is all Outlook puts above its
  unmarked quote; an attribution line that is not followed by ">" lines (Outlook on the web,
  some phones) also starts an unmarked quote.

Inline answers between quoted blocks stay in the text; only the quoted lines are removed.
Forwarded content ("---------- Forwarded message ---------", "Begin forwarded message:") is
not history: it stays in the text.

The signature is what follows the RFC 3676 delimiter "-- " (or "--" after a client stripped
the space) or a mobile footer ("Sent from my iPhone", "Von meinem iPhone gesendet", "Get
Outlook for Android", ...) at the end of the new part. Closings such as "Mit freundlichen
Grüßen, Anna Müller" are part of the message, not a signature.

The split never loses text: if the rules would leave nothing new, the whole body is the text.
Line tests are string operations and bounded patterns on single lines (no backtracking on
untrusted input), and bodies longer than MAX_SPLIT_CHARS are not split at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SPLIT_CHARS = 200_000
_MAX_MARKER_LINE = 300

_SEPARATORS = frozenset(
    {
        "original message",
        "original-message",
        "ursprüngliche nachricht",
        "ursprungliche nachricht",
        "original-nachricht",
        "originalnachricht",
        "ursprüngliche e-mail",
        "reply message",
        "antwort-nachricht",
    }
)
_FORWARD_MARKERS = (
    "forwarded message",
    "weitergeleitete nachricht",
    "begin forwarded message",
    "anfang der weitergeleiteten",
    "original-nachricht weitergeleitet",
)
_HEADER_FROM = ("from:", "von:")
_HEADER_DATE = ("sent:", "gesendet:", "date:", "datum:")
_HEADER_OTHER = ("to:", "an:", "subject:", "betreff:", "cc:")
_SUPERCITE = re.compile(r"[A-Za-z]{1,4}>(?: |$)")
_BLANK_LINES = re.compile(r"\n{3,}")
_MOBILE_SIGNATURE = re.compile(
    r"(?:sent from my |sent from (?:outlook|mail|yahoo|samsung|aol|gmail|proton)|sent with |"
    r"sent via |get outlook for |von meinem .{1,60} gesendet|gesendet von meinem |"
    r"gesendet von (?:iphone|ipad|outlook|mail|yahoo|samsung)|gesendet mit (?:der )?.{1,40}app|"
    r"holen sie sich outlook f|von outlook f.{1,30} gesendet|diese nachricht wurde von meinem )",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReplySplit:
    text: str  # the new part, without quoted history and signature
    quoted: str  # the quoted history that was removed ("" if none)
    signature: str  # the signature that was removed ("" if none)


def split_reply(body: str) -> ReplySplit:
    """Split a plain-text body (lines separated by "\\n") into new text, quote and signature."""
    body = body.strip("\n")
    if not body.strip() or len(body) > MAX_SPLIT_CHARS:
        return ReplySplit(body, "", "")
    lines = body.split("\n")
    new_lines, quoted_lines = _remove_quotes(lines)
    if not any(line.strip() for line in new_lines):
        new_lines, quoted_lines = lines, []
    new_lines, signature_lines = _remove_signature(new_lines)
    return ReplySplit(
        text=_BLANK_LINES.sub("\n\n", _join(new_lines)),
        quoted=_join(quoted_lines),
        signature=_join(signature_lines),
    )


def _remove_quotes(lines: list[str]) -> tuple[list[str], list[str]]:
    count = len(lines)
    cut = count  # everything from here on is unmarked history (Outlook style)
    is_quoted = [_is_quote_line(line) for line in lines]
    for index in range(count):
        if is_quoted[index]:
            continue
        if _is_separator(lines, index) or _is_header_block(lines, index):
            cut = index
            break
        attribution_lines = _attribution_length(lines, index)
        if attribution_lines:
            following = _next_nonblank(lines, index + attribution_lines)
            if following is None or not is_quoted[following]:
                cut = index
                break
            for covered in range(index, following):
                is_quoted[covered] = True
    # Blank lines between two quoted lines belong to the quote.
    previous_quoted = -1
    for index in range(cut):
        if is_quoted[index]:
            if previous_quoted >= 0:
                for between in range(previous_quoted + 1, index):
                    if not lines[between].strip():
                        is_quoted[between] = True
            previous_quoted = index
        elif lines[index].strip():
            previous_quoted = -1
    new_lines: list[str] = []
    quoted_lines: list[str] = []
    for index in range(cut):
        if is_quoted[index]:
            quoted_lines.append(lines[index])
            # an inline answer continues after a removed quote: keep one blank line between
            if new_lines and new_lines[-1].strip():
                new_lines.append("")
        else:
            new_lines.append(lines[index])
    quoted_lines.extend(lines[cut:])
    return new_lines, quoted_lines


def _is_quote_line(line: str) -> bool:
    # "> text", " > text" (a client indenting its quote), "BS> text" (Supercite, The Bat!)
    return line.startswith((">", " >")) or _SUPERCITE.match(line) is not None


def _remove_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    start = None
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() == "--":
            start = index
            break
    if start is None:
        nonblank = [index for index, line in enumerate(lines) if line.strip()][-3:]
        for index in nonblank:
            line = lines[index].strip()
            if len(line) <= 120 and _MOBILE_SIGNATURE.match(line):
                start = index
                break
    if start is None or not any(line.strip() for line in lines[:start]):
        return lines, []
    return lines[:start], lines[start:]


def _is_separator(lines: list[str], index: int) -> bool:
    stripped = lines[index].strip()
    if len(stripped) > _MAX_MARKER_LINE or not stripped.startswith(("--", "__", "==", "**")):
        return False
    core = stripped.strip("-_=* ").lower()
    if core in _SEPARATORS:
        return True
    # Outlook's HTML replies: a rule of underscores, then the header block.
    if not core and stripped.startswith("__") and len(stripped) >= 20:
        following = _next_nonblank(lines, index + 1)
        return following is not None and _is_header_block(lines, following)
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    if not _header_line(lines[index]).startswith(_HEADER_FROM):
        return False
    previous = _previous_nonblank(lines, index)
    if previous is not None and any(
        marker in lines[previous].lower() for marker in _FORWARD_MARKERS
    ):
        return False
    has_date = has_other = False
    for line in lines[index + 1 : index + 8]:
        header = _header_line(line)
        has_date = has_date or header.startswith(_HEADER_DATE)
        has_other = has_other or header.startswith(_HEADER_OTHER)
    return has_date and has_other


def _header_line(line: str) -> str:
    if len(line) > _MAX_MARKER_LINE:
        return ""
    return line.strip().lstrip("*").lower().replace("*", "", 2)


def _attribution_length(lines: list[str], index: int) -> int:
    """How many lines the attribution starting at `index` spans (0: it is none)."""
    line = lines[index].strip()
    if not line or len(line) > _MAX_MARKER_LINE:
        return 0
    if _is_attribution(line, lines, index + 1):
        return 1
    if line.lower().startswith(("on ", "am ")) and not line.endswith(":"):
        # Clients wrap a long attribution: "On Mon, 3 Mar 2025 at 10:15, Anna Müller <"
        joined = line
        for extra in range(1, 3):
            if index + extra >= len(lines) or not lines[index + extra].strip():
                break
            joined = f"{joined} {lines[index + extra].strip()}"
            if len(joined) > _MAX_MARKER_LINE:
                break
            if joined.endswith(":"):
                return extra + 1 if _is_attribution(joined, lines, index + extra + 1) else 0
    return 0


def _is_attribution(line: str, lines: list[str], after: int) -> bool:
    if not line.endswith(":"):
        return False
    lowered = line.lower()
    if lowered.startswith("on ") and lowered.endswith(("wrote:", "wrote :")):
        return True
    if lowered.startswith("am ") and " schrieb" in lowered:
        return True
    # "Anna Müller <anna@example.de> wrote:" without a date: only directly above a quote.
    if lowered.endswith(("wrote:", "schrieb:", "geschrieben:", "a écrit :", "a écrit:")):
        following = _next_nonblank(lines, after)
        return following is not None and _is_quote_line(lines[following])
    return False


def _next_nonblank(lines: list[str], start: int) -> int | None:
    for index in range(start, min(len(lines), start + 3)):
        if lines[index].strip():
            return index
    return None


def _previous_nonblank(lines: list[str], start: int) -> int | None:
    for index in range(start - 1, max(start - 3, -1), -1):
        if lines[index].strip():
            return index
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()
