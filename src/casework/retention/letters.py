"""Retention letters as PDF, each ending in a response card the customer posts back (pure).

The card sits at the bottom of a letter's last page: a QR code holding the customer's
personal response URL, the same code printed for typing, a tick box for each of `CHOICES`
and a box for handwritten remarks. `scanning` reads scanned cards back; it finds the QR code
and maps the rest of the card from it, so the card's geometry lives here, in `CARD`, in
millimetres from the card's top left corner with y growing downwards (as in a scan), and
both modules use these same numbers.

Letters follow DIN 5008 (form B): the address field fits a DL window envelope, fold marks at
105 and 210 mm. Text is set in the PDF standard fonts, so umlauts and ß print (WinAnsi);
characters outside WinAnsi print as "?".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import zxingcpp

from casework.partners.pdf import A4, MM, Document, Page, text_width

CHOICES = ("accept", "decline")  # tick box keys, in card order


@dataclass(frozen=True)
class ResponseCard:
    code: str  # typed form, e.g. "K7M4-9QX2-HT3P"; opaque text
    qr_text: str  # what the QR code holds, e.g. "https://casework.example/r/K7M49QX2HT3P"
    title: str  # "Ihre Antwort"
    choice_labels: tuple[str, str]  # labels for CHOICES, in the letter's language
    remarks_label: str  # "Anmerkungen"
    code_label: str  # "Ihr Antwortcode"


@dataclass(frozen=True)
class Letter:
    sender_lines: tuple[str, ...]  # return address line(s)
    recipient_lines: tuple[str, ...]  # postal address block
    place_and_date: str  # already formatted: "Berlin, 26. November 2026"
    subject: str
    salutation: str
    paragraphs: tuple[str, ...]  # body text; wrapped here to the text width
    closing: tuple[str, ...]  # ("Mit freundlichen Grüßen", "Ihr Service-Team")
    card: ResponseCard


@dataclass(frozen=True)
class Box:
    """A rectangle on the card in millimetres: left, top, width, height (y downwards)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class CardLayout:
    """Where everything is on the card. The QR *symbol* (without its quiet zone) has a fixed
    size whatever the code's version, so its four corners, which the reader reports, map to
    fixed points; the quiet zone (4 modules, about 4 mm) is kept clear around it."""

    width: float
    height: float
    title_baseline: float
    qr: Box
    code_label_baseline: float
    code_baseline: float
    code_x: float
    code_width: float  # the typed code shrinks to fit this
    tick_boxes: tuple[Box, Box]  # for CHOICES, in order
    tick_line_width: float  # points
    label_x: float
    remarks_label_baseline: float
    remarks: Box
    remarks_line_width: float  # points


CARD = CardLayout(
    width=165,
    height=92,
    title_baseline=7,
    # 30 mm: a 40-character URL is version 4 at level Q (33 modules): 0.9 mm modules,
    # 5.4 px at 150 dpi; zxing-cpp reads them down to about 35 dpi (bench/README.md).
    qr=Box(5, 13, 30, 30),
    code_label_baseline=18,
    code_baseline=25.5,
    code_x=45,
    code_width=115,
    tick_boxes=(Box(45, 31, 7, 7), Box(45, 41, 7, 7)),
    tick_line_width=1,
    label_x=56,
    remarks_label_baseline=55,
    remarks=Box(0, 58, 165, 34),
    remarks_line_width=1,
)

# Where the card sits on the page (mm from the page's left and bottom edges).
CARD_LEFT = 25
CARD_BOTTOM = 12
CARD_TOP = CARD_BOTTOM + CARD.height  # from the bottom edge

# Error correction Q restores up to 25 % of the symbol: a pen stroke, a staple hole or a
# coffee ring over the code still decodes.
QR_ERROR_CORRECTION = "Q"
# Version 10, about 150 characters: modules of 0.53 mm, still read from a 75 dpi scan.
MAX_QR_MODULES = 57

# The typed code in Helvetica Bold: tesseract misreads Courier's serifs and Q's tail far
# more often (12 of 30 random codes right against 20; what remains is O against 0).
CODE_FONT = "bold"
CODE_SIZE = 16.0

PAGE_WIDTH, PAGE_HEIGHT = A4[0] / MM, A4[1] / MM  # millimetres
TEXT_LEFT = 25
TEXT_RIGHT = PAGE_WIDTH - 20
TEXT_WIDTH = TEXT_RIGHT - TEXT_LEFT
BODY_SIZE = 10.5
BODY_LEADING = 5.0  # mm
FIRST_BODY_TOP = 103.0  # mm from the top: the subject line (DIN 5008 B)
NEXT_BODY_TOP = 25.0
BODY_BOTTOM = 20.0  # mm from the bottom on pages without the card
CARD_CLEARANCE = 10.0  # mm of white between the text and the cut line above the card


def code_font_size(code: str) -> float:
    """The typed code's size in points: 16, smaller if a long code would not fit."""
    width = text_width(code, font=CODE_FONT, size=1)
    return min(CODE_SIZE, _pt(CARD.code_width) / width) if width else CODE_SIZE


def render_letter(letter: Letter) -> bytes:
    """One letter as PDF: one A4 page, more if the text is long; the card is always at the
    bottom of the last page."""
    return render_letters([letter])


def render_letters(letters: Iterable[Letter]) -> bytes:
    """A print run as one PDF, the letters' pages in order."""
    document = Document(title="", subject="", keywords="")
    subjects = []
    for letter in letters:
        subjects.append(letter.subject)
        for page in _letter_pages(letter):
            document.pages.append(page)
    document.title = subjects[0] if len(subjects) == 1 else f"{len(subjects)} letters"
    document.subject = subjects[0] if len(subjects) == 1 else ""
    return document.render()


def qr_modules(text: str) -> np.ndarray:
    """The QR symbol's modules without the quiet zone: a square bool array, True = dark."""
    barcode = zxingcpp.create_barcode(
        text, zxingcpp.BarcodeFormat.QRCode, ec_level=QR_ERROR_CORRECTION
    )
    pixels = np.asarray(barcode.to_image(scale=1, add_quiet_zones=False))
    if len(pixels) > MAX_QR_MODULES:
        raise ValueError(
            f"the QR text is too long for the card ({len(text)} characters, "
            f"{len(pixels)} modules a side; at most {MAX_QR_MODULES})"
        )
    return pixels < 128


def wrap(text: str, *, width: float, font: str = "regular", size: float = BODY_SIZE) -> list[str]:
    """Greedy line breaking at spaces (and at explicit newlines) to `width` millimetres; a
    word longer than a line is broken between characters."""
    limit = width * MM
    lines: list[str] = []
    for paragraph_line in text.split("\n"):
        line = ""
        for word in paragraph_line.split():
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, font=font, size=size) <= limit:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for character in word:
                if line and text_width(line + character, font=font, size=size) > limit:
                    lines.append(line)
                    line = ""
                line += character
        lines.append(line)
    return lines


# --- layout -------------------------------------------------------------------------------


def _pt(millimetres: float) -> float:
    return millimetres * MM


def _from_top(millimetres: float) -> float:
    """A y coordinate in points for a position given in mm from the page's top edge."""
    return _pt(PAGE_HEIGHT - millimetres)


def _letter_pages(letter: Letter) -> list[Page]:
    first = Page()
    _draw_head(first, letter)
    pages = [first]
    page, cursor = first, FIRST_BODY_TOP
    for line, font, gap_before in _body_lines(letter):
        cursor += gap_before
        if cursor > PAGE_HEIGHT - BODY_BOTTOM:
            page, cursor = Page(), NEXT_BODY_TOP
            pages.append(page)
        if line:
            size = 11 if font == "bold" else BODY_SIZE
            page.text(_pt(TEXT_LEFT), _from_top(cursor), line, font=font, size=size)
        cursor += BODY_LEADING
    card_top_from_top = PAGE_HEIGHT - CARD_TOP
    if cursor - BODY_LEADING + CARD_CLEARANCE > card_top_from_top:
        # The text runs into the card's place: the card gets a page of its own.
        page = Page()
        pages.append(page)
    _draw_fold_marks(pages)
    _draw_card(page, letter.card)
    return pages


def _body_lines(letter: Letter) -> Iterator[tuple[str, str, float]]:
    """(line, font, extra space before it in mm) from the subject to the closing."""
    for line in wrap(letter.subject, width=TEXT_WIDTH, font="bold", size=11):
        yield line, "bold", 0.0
    yield letter.salutation, "regular", BODY_LEADING
    for paragraph in letter.paragraphs:
        for index, line in enumerate(wrap(paragraph, width=TEXT_WIDTH)):
            yield line, "regular", BODY_LEADING if index == 0 else 0.0
    for index, line in enumerate(letter.closing):
        yield line, "regular", BODY_LEADING if index == 0 else 0.0


def _draw_head(page: Page, letter: Letter) -> None:
    # Letterhead: the sender, right aligned at the top.
    for index, line in enumerate(letter.sender_lines):
        width = text_width(line, size=9) / MM
        page.text(_pt(TEXT_RIGHT - width), _from_top(15 + 4 * index), line, size=9)
    # DIN 5008 B address field: 45 mm from the top, a 5 mm return line, then the address.
    return_line = " · ".join(letter.sender_lines)
    page.text(_pt(TEXT_LEFT), _from_top(49), return_line, size=7)
    for index, line in enumerate(letter.recipient_lines):
        page.text(_pt(TEXT_LEFT), _from_top(57 + 4.5 * index), line, size=10)
    width = text_width(letter.place_and_date, size=10) / MM
    page.text(_pt(TEXT_RIGHT - width), _from_top(95), letter.place_and_date, size=10)


def _draw_fold_marks(pages: Sequence[Page]) -> None:
    for page in pages:
        for millimetres in (105, 210):  # DIN 5008 fold marks
            page.rule(_pt(4), _from_top(millimetres), _pt(9), _from_top(millimetres), width=0.3)
        page.rule(_pt(4), _from_top(148.5), _pt(11), _from_top(148.5), width=0.3)  # punch


def _draw_card(page: Page, card: ResponseCard) -> None:
    def x(millimetres: float) -> float:
        return _pt(CARD_LEFT + millimetres)

    def y(millimetres: float) -> float:
        """Card y (mm from the card's top, downwards) to PDF points."""
        return _pt(CARD_TOP - millimetres)

    page.dashed_rule(_pt(10), y(-5), _pt(PAGE_WIDTH - 10), y(-5), width=0.4, dash=4, gap=3)
    page.text(x(0), y(CARD.title_baseline), card.title, font="bold", size=13)

    modules = qr_modules(card.qr_text)
    module = CARD.qr.width / modules.shape[0]
    squares = []
    for row_index, row in enumerate(modules):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            squares.append(
                (
                    x(CARD.qr.x + start * module),
                    y(CARD.qr.y + (row_index + 1) * module),
                    _pt((column - start) * module),
                    _pt(module),
                )
            )
    page.fill(squares)

    page.text(x(CARD.code_x), y(CARD.code_label_baseline), card.code_label, size=9)
    page.text(
        x(CARD.code_x),
        y(CARD.code_baseline),
        card.code,
        font=CODE_FONT,
        size=code_font_size(card.code),
    )

    for box, label in zip(CARD.tick_boxes, card.choice_labels, strict=True):
        page.box(
            x(box.x),
            y(box.bottom),
            _pt(box.width),
            _pt(box.height),
            line_width=CARD.tick_line_width,
        )
        lines = wrap(label, width=CARD.width - CARD.label_x, size=10.5)
        baseline = box.y + box.height / 2 + 1.3 - 2.2 * (len(lines) - 1)
        for index, line in enumerate(lines[:2]):
            page.text(x(CARD.label_x), y(baseline + 4.4 * index), line, size=10.5)

    page.text(x(0), y(CARD.remarks_label_baseline), card.remarks_label, size=9)
    box = CARD.remarks
    page.box(
        x(box.x), y(box.bottom), _pt(box.width), _pt(box.height), line_width=CARD.remarks_line_width
    )
