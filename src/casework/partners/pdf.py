"""A minimal PDF writer (pure): pages of text in the standard fonts, and rules.

Enough for statements, with no dependency: the 14 standard fonts need no embedding, text
is encoded in WinAnsi (cp1252: German umlauts, ß and the euro sign), and content streams
stay uncompressed, so the text — the chain hash above all — can be found in the file as it
is. Coordinates are PDF points from the bottom left corner of an A4 page.
"""

from __future__ import annotations

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
