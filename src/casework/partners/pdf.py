"""A minimal PDF writer (pure): pages of text in the standard fonts, rules and rectangles.

Enough for statements, with no dependency: the 14 standard fonts need no embedding, text
is encoded in WinAnsi (cp1252: German umlauts, ß and the euro sign), and content streams
stay uncompressed, so the text — the chain hash above all — can be found in the file as it
is. Coordinates are PDF points from the bottom left corner of an A4 page.

`text_width()` measures a line with the fonts' standard metrics, for wrapping and aligning;
filled rectangles in one path draw shapes such as a QR code without seams between modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

A4 = (595.28, 841.89)

FONTS = {
    "regular": "Helvetica",
    "bold": "Helvetica-Bold",
    "mono": "Courier",
    "mono-bold": "Courier-Bold",
}
_FONT_KEYS = {name: f"F{index}" for index, name in enumerate(FONTS, start=1)}
MONO_ADVANCE = 0.6  # Courier: every glyph is 600/1000 of the font size wide
MM = 72 / 25.4  # points per millimetre


def _widths(table: str) -> tuple[int, ...]:
    return tuple(int(width) for width in table.split())


# Advance widths of WinAnsi codes 32–255 in 1/1000 of the font size, from the standard
# metrics that every viewer uses for the base 14 fonts.
_HELVETICA_WIDTHS = _widths(
    """
    278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556
    556 556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278
    500 667 556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469
    556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500
    278 556 500 722 500 500 500 334 260 334 584 278 667 278 222 556 333 1000 556 556 333
    1000 667 333 1000 278 611 278 278 222 222 333 333 350 556 1000 333 1000 500 366 944
    278 500 667 278 333 556 556 556 556 260 556 333 737 370 612 584 0 737 333 400 584
    333 333 333 556 537 278 333 333 365 612 834 834 834 611 667 667 667 667 667 667 1000
    722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722
    722 667 667 611 556 556 556 556 556 556 889 500 556 556 556 556 278 278 278 278 556
    556 556 556 556 556 556 584 611 556 556 556 556 500 556 500
"""
)
_HELVETICA_BOLD_WIDTHS = _widths(
    """
    278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556
    556 556 556 556 556 333 333 584 584 584 611 1072 722 722 722 722 667 611 778 722 278
    556 722 611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584
    556 333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556
    333 611 556 778 556 556 500 389 280 389 584 278 722 278 278 556 500 1000 556 556 333
    1000 667 333 1000 278 611 278 278 278 278 500 500 350 556 1000 333 1000 556 333 944
    278 500 667 278 333 556 556 556 556 280 556 333 737 370 556 584 0 737 333 400 584
    333 333 333 611 556 278 333 333 365 556 834 834 834 611 722 722 722 722 722 722 1000
    722 667 667 667 667 278 278 278 278 722 722 778 778 778 778 778 584 778 722 722 722
    722 667 667 611 556 556 556 556 556 556 889 556 556 556 556 556 278 278 278 278 611
    611 611 611 611 611 611 584 611 611 611 611 611 556 611 556
"""
)


def text_width(text: str, *, font: str = "regular", size: float = 10) -> float:
    """The advance width of `text` in points, as a viewer sets it (the standard fonts'
    metrics for the characters WinAnsi can show; others print as "?")."""
    if font not in FONTS:
        raise KeyError(font)
    raw = text.encode("cp1252", errors="replace")
    if font.startswith("mono"):
        return len(raw) * MONO_ADVANCE * size
    widths = _HELVETICA_BOLD_WIDTHS if font == "bold" else _HELVETICA_WIDTHS
    return sum(widths[byte - 32] if byte >= 32 else 0 for byte in raw) * size / 1000


@dataclass
class Page:
    operations: list[bytes] = field(default_factory=list)

    def text(
        self, x: float, y: float, text: str, *, font: str = "regular", size: float = 10
    ) -> None:
        self.operations.append(
            b"BT /%s %s Tf %s %s Td (%s) Tj ET"
            % (
                _FONT_KEYS[font].encode(),
                _number(size),
                _number(x),
                _number(y),
                escape(text),
            )
        )

    def rule(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.5) -> None:
        self.operations.append(
            b"%s w %s %s m %s %s l S"
            % (_number(width), _number(x1), _number(y1), _number(x2), _number(y2))
        )

    def dashed_rule(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        width: float = 0.5,
        dash: float = 3,
        gap: float = 3,
    ) -> None:
        self.operations.append(
            b"q [%s %s] 0 d %s w %s %s m %s %s l S Q"
            % (
                _number(dash),
                _number(gap),
                _number(width),
                _number(x1),
                _number(y1),
                _number(x2),
                _number(y2),
            )
        )

    def box(
        self, x: float, y: float, width: float, height: float, *, line_width: float = 0.5
    ) -> None:
        """A stroked rectangle; (x, y) is its bottom left corner, the line centred on it."""
        self.operations.append(
            b"%s w %s %s %s %s re S"
            % (_number(line_width), _number(x), _number(y), _number(width), _number(height))
        )

    def fill(
        self,
        rectangles: Iterable[tuple[float, float, float, float]],
        *,
        grey: float = 0,
    ) -> None:
        """Filled rectangles (x, y, width, height) as one path: touching rectangles join
        without the hairline seams a viewer's anti-aliasing leaves between separate fills.
        `grey` is 0 for black to 1 for white."""
        path = b" ".join(
            b"%s %s %s %s re" % (_number(x), _number(y), _number(w), _number(h))
            for x, y, w, h in rectangles
        )
        if path:
            self.operations.append(b"q %s g %s f Q" % (_number(grey), path))


@dataclass
class Document:
    title: str = ""
    subject: str = ""
    keywords: str = ""
    size: tuple[float, float] = A4
    pages: list[Page] = field(default_factory=list)

    def new_page(self) -> Page:
        page = Page()
        self.pages.append(page)
        return page

    def render(self, *, created_at: datetime | None = None) -> bytes:
        return render(self, created_at=created_at)


def escape(text: str) -> bytes:
    """A PDF literal string's content, in WinAnsi (what it cannot show becomes "?")."""
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _number(value: float) -> bytes:
    return (b"%.2f" % value).rstrip(b"0").rstrip(b".") or b"0"


def _info_text(text: str) -> bytes:
    """A document information string: UTF-16 with a byte order mark, so any text fits."""
    raw = b"\xfe\xff" + text.encode("utf-16-be")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def render(document: Document, *, created_at: datetime | None = None) -> bytes:
    pages = document.pages or [Page()]
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below, once the page tree's number is known
    tree = add(b"")
    fonts = {
        name: add(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
            % base.encode()
        )
        for name, base in FONTS.items()
    }
    font_resources = b" ".join(
        b"/%s %d 0 R" % (_FONT_KEYS[name].encode(), number) for name, number in fonts.items()
    )
    width, height = document.size
    kids = []
    for page in pages:
        stream = b"\n".join(page.operations)
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] "
                b"/Resources << /Font << %s >> >> /Contents %d 0 R >>"
                % (tree, _number(width), _number(height), font_resources, content)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % kid for kid in kids),
        len(kids),
    )
    moment = (created_at or datetime.now(UTC)).astimezone(UTC)
    info = add(
        b"<< /Title %s /Subject %s /Keywords %s /Producer (Casework) /CreationDate (D:%sZ) >>"
        % (
            _info_text(document.title),
            _info_text(document.subject),
            _info_text(document.keywords),
            moment.strftime("%Y%m%d%H%M%S").encode(),
        )
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        info,
        xref,
    )
    return bytes(out)
