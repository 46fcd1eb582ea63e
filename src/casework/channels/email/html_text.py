"""Plain text from an e-mail's HTML, for search, classification and the reply split (pure).

A real extraction with the standard library's `html.parser`, not a tag-stripping regex:
invisible content (head, script, style, `display:none` preheaders) is dropped, block elements
become line breaks, list items become "- " lines, links keep their target as "text (url)"
when the text does not already show it, entities are decoded and whitespace is collapsed
outside `<pre>`.

Quoted history marked up as `<blockquote>` (Apple Mail, Thunderbird, Gmail, Outlook on the
web) comes out as "> " lines, so the reply split in `quoting.py` treats it like quoted plain
text.

Bounded time on hostile markup: `html.parser` (before Python 3.13.5) rescans to the end of
the document for every unterminated tag, quote or comment, which is quadratic; so the HTML is
first rebuilt by nh3's HTML5 parser, whose output is well-formed. That parser in turn is
quadratic in the depth of nested block elements, so markup nested deeper than
MAX_BLOCK_DEPTH has its block tags flattened into line breaks first.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# Work on the first MAX_HTML_CHARS only: a multi-megabyte HTML body gives no better search
# text than its first million characters, and html.parser is pure Python.
MAX_HTML_CHARS = 1_000_000
# 1,000 nested <div>s take nh3 10 ms, 20,000 take seconds.
MAX_BLOCK_DEPTH = 1000
# Elements for which the HTML5 tree builder scans the open elements ("close a p element in
# button scope"); measured: nesting these is what makes parsing quadratic.
_DEEP_BLOCK_NAMES = (
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div",
    "dl", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "listing",
    "main", "menu", "nav", "ol", "optgroup", "pre", "rp", "rt", "search", "section", "summary",
    "table", "ul", "xmp",
)  # fmt: skip
_DEEP_BLOCK_TAG = re.compile(
    r"<(/?)(?:" + "|".join(_DEEP_BLOCK_NAMES) + r")\b[^<>]*>?", re.IGNORECASE
)
_MAX_SHOWN_DEPTH = 10  # of quote markers and list indentation

_INVISIBLE = frozenset(
    {"head", "script", "style", "title", "template", "xml", "svg", "math", "iframe", "object"}
    | {"noscript", "select", "button", "audio", "video", "canvas", "textarea"}
)
# A document that forgets to close <head> or <title> must not lose its whole body.
_CLOSED_BY_CONTENT = frozenset({"head", "title"})
_VOID = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
)
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "pre", "address"}
    | {"blockquote", "figure", "fieldset", "form", "center"}
)
_BLOCKS = frozenset(
    {"div", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "nav", "aside"}
    | {"main", "caption", "tbody", "thead", "tfoot", "hr", "legend", "details", "summary"}
)
_CELLS = frozenset({"td", "th"})
_LINK_SCHEMES = ("http://", "https://", "ftp://")
_WHITESPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)

# Rebuilds any markup as well-formed HTML with what the extraction looks at.
_NORMALISER = nh3.Cleaner(
    tags=(_PARAGRAPHS | _BLOCKS | _CELLS | {"br", "a", "img", "span", "font", "b", "i", "u"})
    | {"em", "strong", "small", "big", "sub", "sup", "code", "tt", "s", "strike", "abbr", "q"}
    | {"cite", "th", "td", "colgroup", "col", "figcaption", "hgroup", "mark", "del", "ins"},
    clean_content_tags=_INVISIBLE - {"head", "xml"} | {"style"},
    attributes={"*": {"style", "hidden"}, "a": {"href"}, "img": {"alt"}},
    url_schemes={"http", "https", "ftp", "mailto"},
    link_rel=None,
    filter_style_properties={"display", "visibility"},
)


def html_to_text(html: str) -> str:
    """The readable text of an HTML document or fragment; never raises on bad markup."""
    extractor = _TextExtractor()
    try:
        extractor.feed(_NORMALISER.clean(flatten_deep_nesting(html[:MAX_HTML_CHARS])))
        extractor.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient, but this must stay total
        pass
    return extractor.text()


def is_nested_too_deeply(html: str) -> bool:
    """More than MAX_BLOCK_DEPTH block elements open at some point."""
    if html.count("<") <= MAX_BLOCK_DEPTH:
        return False
    lowered = html.lower()
    if sum(lowered.count("<" + name) for name in _DEEP_BLOCK_NAMES) <= MAX_BLOCK_DEPTH:
        return False
    depth = 0
    for match in _DEEP_BLOCK_TAG.finditer(html):
        if match.group(1):
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > MAX_BLOCK_DEPTH:
                return True
    return False


def flatten_deep_nesting(html: str) -> str:
    """`html` unchanged, or with its block tags turned into line breaks when it is nested
    too deeply to parse in bounded time."""
    if not is_nested_too_deeply(html):
        return html
    return _DEEP_BLOCK_TAG.sub("<br>", html)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[tuple[int, str]] = []  # (quote depth, text) of finished lines
        self._current: list[str] = []
        self._current_depth = 0
        self._blank_lines_wanted = 0
        self._quote_depth = 0
        self._pre_depth = 0
        # Open elements whose content is invisible, and how often each has the same tag
        # nested inside it (its own end tag closes it only when that count is back to zero).
        self._skipping: list[str] = []
        self._skip_nesting: list[int] = []
        self._lists: list[list[int]] = []  # per open list: [is_ordered, next number]
        self._link: tuple[str, list[str]] | None = None  # (href, text seen inside the link)

    # -- structure ---------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping:
            top = self._skipping[-1]
            if top in _CLOSED_BY_CONTENT and (
                tag == "body" or tag in _PARAGRAPHS or tag in _BLOCKS
            ):
                self._stop_skipping_head()
            elif tag == top and tag not in _VOID:
                self._skip_nesting[-1] += 1
                return
            if self._skipping:
                return
        if tag in _INVISIBLE or (tag not in _VOID and _is_hidden(attrs)):
            if tag in _BLOCKS or tag in _PARAGRAPHS:
                self._end_line()
            self._skipping.append(tag)
            self._skip_nesting.append(0)
            return
        if tag == "br":
            if self._current:
                self._end_line()
            else:
                self._blank_lines_wanted = min(self._blank_lines_wanted + 1, 2)
        elif tag in ("ul", "ol") and self._lists:
            self._end_line()  # a nested list continues its item without a blank line
            self._lists.append([1 if tag == "ol" else 0, 1])
        elif tag in _PARAGRAPHS:
            self._paragraph()
            if tag == "blockquote":
                self._quote_depth += 1
            elif tag == "pre":
                self._pre_depth += 1
            elif tag in ("ul", "ol"):
                self._lists.append([1 if tag == "ol" else 0, 1])
        elif tag in _BLOCKS:
            self._end_line()
            if tag == "li":
                self._list_item()
        elif tag in _CELLS:
            if self._current:
                self._current.append(" ")
        elif tag == "a":
            self._close_link()  # links do not nest
            self._link = (_attribute(attrs, "href").strip(), [])
        elif tag == "img":
            alternative = _attribute(attrs, "alt").strip()
            if alternative:
                self.handle_data(alternative)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <div/> or <a/> in XHTML-ish mail: a start without content, never an open element.
        if tag in _VOID:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if tag == self._skipping[-1]:
                if self._skip_nesting[-1]:
                    self._skip_nesting[-1] -= 1
                else:
                    self._skipping.pop()
                    self._skip_nesting.pop()
            return
        if tag in ("ul", "ol") and len(self._lists) > 1:
            self._end_line()
            self._lists.pop()
        elif tag in _PARAGRAPHS:
            self._paragraph()
            if tag == "blockquote" and self._quote_depth:
                self._quote_depth -= 1
            elif tag == "pre" and self._pre_depth:
                self._pre_depth -= 1
            elif tag in ("ul", "ol") and self._lists:
                self._lists.pop()
        elif tag in _BLOCKS:
            self._end_line()
        elif tag == "a":
            self._close_link()

    def handle_data(self, data: str) -> None:
        if self._skipping or not data:
            return
        if not self._pre_depth:
            data = _WHITESPACE.sub(" ", data)
            if not self._current:
                data = data.lstrip(" ")
            if not data:
                return
        self._write(data)

    def _stop_skipping_head(self) -> None:
        kept = [i for i, tag in enumerate(self._skipping) if tag not in _CLOSED_BY_CONTENT]
        self._skipping = [self._skipping[i] for i in kept]
        self._skip_nesting = [self._skip_nesting[i] for i in kept]

    # -- output ------------------------------------------------------------------------

    def _write(self, data: str) -> None:
        if self._pre_depth and "\n" in data:
            first, *rest = data.split("\n")
            self._write_inline(first)
            for line in rest:
                self._end_line(keep_empty=True)
                self._write_inline(line)
            return
        self._write_inline(data)

    def _write_inline(self, data: str) -> None:
        if not data:
            return
        if not self._current:
            if self._blank_lines_wanted and self._lines:
                depth = min(self._lines[-1][0], self._quote_depth)
                self._lines.extend([(depth, "")] * self._blank_lines_wanted)
            self._blank_lines_wanted = 0
            self._current_depth = self._quote_depth
        self._current.append(data)
        if self._link is not None:
            self._link[1].append(data)

    def _end_line(self, *, keep_empty: bool = False) -> None:
        if self._current:
            self._lines.append((self._current_depth, "".join(self._current).rstrip()))
            self._current = []
        elif keep_empty:
            self._lines.append((self._quote_depth, ""))

    def _paragraph(self) -> None:
        self._end_line()
        self._blank_lines_wanted = max(self._blank_lines_wanted, 1)

    def _list_item(self) -> None:
        indent = "  " * min(max(len(self._lists) - 1, 0), _MAX_SHOWN_DEPTH)
        if self._lists and self._lists[-1][0]:
            marker = f"{self._lists[-1][1]}. "
            self._lists[-1][1] += 1
        else:
            marker = "- "
        self._write_inline(indent + marker)

    def _close_link(self) -> None:
        if self._link is None:
            return
        href, seen = self._link
        self._link = None
        text = "".join(seen)
        lowered = href.lower()
        if lowered.startswith("mailto:"):
            target = href[7:].split("?", 1)[0]
        elif lowered.startswith(_LINK_SCHEMES):
            target = href
        else:
            return
        shown = text.strip()
        if not target or not shown or _same_target(shown, target):
            return
        self._write_inline(f" ({target})")

    def text(self) -> str:
        self._end_line()
        out: list[str] = []
        previous_blank = True
        for depth, line in self._lines:
            is_blank = not line.strip()
            if is_blank and previous_blank:
                continue
            previous_blank = is_blank
            depth = min(depth, _MAX_SHOWN_DEPTH)
            if depth:
                out.append("> " * depth + line if line else ">" * depth)
            else:
                out.append(line)
        while out and not out[-1].strip(">"):
            out.pop()
        return "\n".join(out)


def _attribute(attrs: list[tuple[str, str | None]], name: str) -> str:
    for key, value in attrs:
        if key == name:
            return value or ""
    return ""


def _is_hidden(attrs: list[tuple[str, str | None]]) -> bool:
    for key, value in attrs:
        if key == "hidden":
            return True
        if key == "style" and value and _HIDDEN_STYLE.search(value):
            return True
    return False


def _same_target(text: str, target: str) -> bool:
    def bare(value: str) -> str:
        value = value.lower().strip().rstrip("/")
        for prefix in ("mailto:", "https://", "http://", "www."):
            if value.startswith(prefix):
                value = value[len(prefix) :]
        return value

    return bare(text) == bare(target)
