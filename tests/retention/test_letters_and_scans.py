"""Retention letters print with a response card, and scans of filled-in cards read back.

The letters are rendered, "printed" and "scanned" by `printing` (rotation, perspective,
blur, noise, low resolution, JPEG, PDF), and read with `read_scan`. Rendered pages are
shared per module: a 300 dpi page takes a moment to rasterise and to distort.
"""

from __future__ import annotations

import io
import random
from dataclasses import replace

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw

from casework.partners.pdf import MM, Document, escape
from casework.retention.letters import (
    CARD,
    CARD_LEFT,
    CARD_TOP,
    CHOICES,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Letter,
    ResponseCard,
    render_letter,
    render_letters,
)
from casework.retention.scanning import (
    OcrUnavailable,
    ScannedPage,
    UnreadableScan,
    read_image,
    read_scan,
)
from tests.retention.printing import (
    Scanner,
    card_area_px,
    damage_qr,
    encode,
    encode_pages,
    render_page,
    scan,
    tick,
    two_cards_on_one_page,
    write_remarks,
)

PARAGRAPHS = (
    "vielen Dank für Ihre langjährige Treue. Ihr Vertrag läuft am 31. Januar 2027 aus. Wir "
    "möchten Sie gerne weiter zu unseren Kundinnen und Kunden zählen und bieten Ihnen "
    "deshalb einen Treuebonus von 120 € für die nächsten zwölf Monate an.",
    "Kreuzen Sie unten auf der Antwortkarte an, ob Sie das Angebot annehmen, trennen Sie "
    "die Karte ab und senden Sie sie im beiliegenden Umschlag portofrei zurück. Sie können "
    "auch den QR-Code mit Ihrem Smartphone scannen.",
)


def make_letter(code: str, name: str, *, paragraphs: tuple[str, ...] = PARAGRAPHS) -> Letter:
    return Letter(
        sender_lines=("Stadtwerke Süderbrück GmbH", "Kundenservice", "Hauptstraße 1, 10115 Berlin"),
        recipient_lines=(name, "Blumenstraße 12", "80331 München"),
        place_and_date="Berlin, 26. November 2026",
        subject="Ihr persönliches Angebot: 12 Monate Treuebonus",
        salutation=f"Guten Tag {name},",
        paragraphs=paragraphs,
        closing=("Mit freundlichen Grüßen", "Ihr Service-Team"),
        card=ResponseCard(
            code=code,
            qr_text=f"https://casework.example/r/{code.replace('-', '')}",
            title="Ihre Antwort",
            choice_labels=("Ja, ich nehme das Angebot an", "Nein, danke"),
            remarks_label="Anmerkungen",
            code_label="Ihr Antwortcode",
        ),
    )


JOERDIS = make_letter("K7M4-9QX2-HT3P", "Frau Jördis Müller-Lüdenscheidt")
OEZGUER = make_letter("W3RX-8HNV-2CK9", "Herrn Özgür Weiß")


@pytest.fixture(scope="module")
def printed() -> Image.Image:
    """Jördis's letter as printed, nothing filled in, at 300 dpi."""
    return render_page(render_letter(JOERDIS))


@pytest.fixture(scope="module")
def filled(printed: Image.Image) -> Image.Image:
    """She accepts and asks for a call."""
    return write_remarks(tick(printed, "accept"), "Bitte rufen Sie mich an")


def only_card(pages: list[ScannedPage]):  # noqa: ANN201
    assert len(pages) == 1
    assert len(pages[0].cards) == 1, pages[0].problems
    return pages[0].cards[0]


def pdf_texts(body: bytes) -> list[str]:
    document = pdfium.PdfDocument(body)
    try:
        return [page.get_textpage().get_text_range() for page in document]
    finally:
        document.close()


def assert_asks_for_a_call(remarks: str) -> None:
    words = remarks.lower()
    assert "bitte" in words and "rufen" in words and "mich" in words, remarks


# --- the letter -----------------------------------------------------------------------------


def test_the_pdf_carries_the_typed_code_the_subject_and_umlauts_as_text():
    body = render_letter(JOERDIS)

    assert body.startswith(b"%PDF-1.4")
    assert escape("K7M4-9QX2-HT3P") in body
    assert escape("Ihr persönliches Angebot: 12 Monate Treuebonus") in body
    assert escape("Frau Jördis Müller-Lüdenscheidt") in body
    assert pdf_texts(body) == [pdf_texts(body)[0]]
    text = pdf_texts(body)[0]
    assert "Ihr persönliches Angebot" in text and "Grüßen" in text and "120 €" in text


def test_the_card_reads_straight_from_the_rendered_pdf():
    card = only_card(read_scan(render_letter(JOERDIS), filename="letter.pdf"))

    assert card == card.__class__(
        text="https://casework.example/r/K7M49QX2HT3P",
        source="qr",
        ticked=frozenset(),
        remarks="",
    )


def test_a_long_letter_continues_on_a_second_page_with_the_card_at_its_bottom():
    long_letter = make_letter(
        "K7M4-9QX2-HT3P", "Frau Jördis Müller-Lüdenscheidt", paragraphs=PARAGRAPHS * 5
    )
    body = render_letter(long_letter)

    first, second = read_scan(body)

    assert first.cards == ()
    assert first.problems == ("no response code found on the page",)
    assert [card.text for card in second.cards] == ["https://casework.example/r/K7M49QX2HT3P"]
    first_text, last_text = pdf_texts(body)
    assert "Ihre Antwort" in last_text and "Ihre Antwort" not in first_text


def test_the_text_is_wrapped_within_the_right_margin_even_an_overlong_word():
    overlong = "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichenherstellerinnung" * 2
    body = render_letter(
        make_letter("K7M4-9QX2-HT3P", "Frau Jördis Müller", paragraphs=(*PARAGRAPHS, overlong))
    )

    document = pdfium.PdfDocument(body)
    try:
        textpage = document[0].get_textpage()
        rights = [textpage.get_charbox(index)[2] for index in range(textpage.count_chars())]
        text = textpage.get_text_range()
    finally:
        document.close()

    assert max(rights) <= (PAGE_WIDTH - 20) * MM + 0.5
    assert "Donaudampfschifffahrts" in text


def test_a_qr_text_too_long_for_the_card_is_refused():
    card = replace(JOERDIS.card, qr_text="https://casework.example/r/" + "x" * 150)

    with pytest.raises(ValueError, match="the QR text is too long for the card"):
        render_letter(replace(JOERDIS, card=card))


def test_a_print_run_is_one_pdf_with_each_letter_and_its_card_in_order():
    body = render_letters([JOERDIS, OEZGUER])

    pages = read_scan(body)

    assert [page.number for page in pages] == [1, 2]
    assert [[card.text for card in page.cards] for page in pages] == [
        ["https://casework.example/r/K7M49QX2HT3P"],
        ["https://casework.example/r/W3RX8HNV2CK9"],
    ]


# --- scans ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scanner", "image_format"),
    [
        pytest.param(Scanner(), "png", id="straight-300dpi"),
        pytest.param(Scanner(rotate=3, noise=4), "png", id="rotated-3deg"),
        pytest.param(Scanner(rotate=90), "png", id="rotated-90deg"),
        pytest.param(Scanner(rotate=180, noise=4), "png", id="upside-down"),
        pytest.param(Scanner(rotate=-2, perspective=0.012, seed=3), "png", id="skewed-perspective"),
        pytest.param(
            Scanner(rotate=1, blur=1.5, noise=20, speckles=0.01, seed=1), "png", id="noisy-blurred"
        ),
        pytest.param(Scanner(dpi=150, rotate=2, blur=0.8, noise=6), "png", id="150dpi"),
        pytest.param(Scanner(dpi=100, rotate=-1, noise=4), "png", id="100dpi"),
        pytest.param(Scanner(rotate=1.2, noise=5, grey=False), "jpeg", id="jpeg-colour"),
        pytest.param(Scanner(dpi=200, rotate=-0.8, noise=3), "pdf", id="pdf-of-a-scan"),
        pytest.param(Scanner(rotate=0.5), "tiff", id="tiff"),
    ],
)
def test_a_scanned_card_gives_its_code_ticks_and_remarks(
    filled: Image.Image, scanner: Scanner, image_format: str
):
    data = encode(scan(filled, scanner), image_format, dpi=scanner.dpi, quality=40)

    card = only_card(read_scan(data))

    assert card.text == "https://casework.example/r/K7M49QX2HT3P"
    assert card.source == "qr"
    assert card.ticked == {"accept"}
    assert_asks_for_a_call(card.remarks)


def test_a_card_with_nothing_filled_in_has_no_ticks_no_remarks_and_no_problems(
    printed: Image.Image,
):
    page = read_image(scan(printed, Scanner(rotate=-1.5, noise=8, speckles=0.005)), number=3)

    assert page.number == 3
    assert page.problems == ()
    assert [(card.ticked, card.remarks) for card in page.cards] == [(frozenset(), "")]


def test_a_check_mark_in_the_decline_box_and_remarks_with_umlauts(printed: Image.Image):
    marked = write_remarks(
        tick(printed, "decline", style="check"),
        "Zu teuer, ich kündige zum Monatsende. Grüße",
        seed=2,
    )

    card = only_card(read_scan(encode(scan(marked, Scanner(rotate=1.5, noise=6)), "jpeg")))

    assert card.ticked == {"decline"}
    assert "kündige" in card.remarks and "Monatsende" in card.remarks


def test_both_boxes_ticked_are_both_reported(printed: Image.Image):
    marked = tick(tick(printed, "accept"), "decline", style="check")

    card = only_card(read_scan(encode(scan(marked, Scanner(rotate=-3)))))

    assert card.ticked == frozenset(CHOICES)


def test_two_cards_on_one_page_are_two_cards_top_to_bottom(filled: Image.Image):
    oezguer = tick(render_page(render_letter(OEZGUER)), "decline")
    sheet = two_cards_on_one_page([filled, oezguer])

    (page,) = read_scan(encode(scan(sheet, Scanner(rotate=-1, noise=5))))

    assert [(card.text, card.ticked) for card in page.cards] == [
        ("https://casework.example/r/K7M49QX2HT3P", {"accept"}),
        ("https://casework.example/r/W3RX8HNV2CK9", {"decline"}),
    ]
    assert "2 response cards on one page" in page.problems


def test_a_card_cut_from_its_letter_reads_alone(filled: Image.Image):
    card_only = filled.crop(card_area_px(300))

    card = only_card(read_scan(encode(scan(card_only, Scanner(rotate=2, noise=4)))))

    assert card.ticked == {"accept"}
    assert_asks_for_a_call(card.remarks)


def test_a_blank_page_has_no_cards_and_says_so(printed: Image.Image):
    blank = Image.new("L", printed.size, 255)

    (page,) = read_scan(encode(scan(blank, Scanner(noise=8, speckles=0.001))))

    assert page.cards == ()
    assert page.problems == ("the page is blank",)


def test_a_damaged_qr_code_falls_back_to_the_typed_code_by_ocr(filled: Image.Image):
    damaged = damage_qr(tick(filled, "decline", style="check"))

    (page,) = read_scan(encode(scan(damaged, Scanner(rotate=1.5, noise=5))))

    (card,) = page.cards
    assert (card.text, card.source) == ("K7M4-9QX2-HT3P", "ocr")
    # The boxes are found from the typed code and the remarks box's printed edges.
    assert card.ticked == frozenset(CHOICES)
    assert_asks_for_a_call(card.remarks)
    assert "card: no readable QR code; the typed code was read by OCR" in page.problems


def test_a_qr_code_found_but_not_decodable_gives_its_layout_and_the_typed_code(
    filled: Image.Image,
):
    blotted = filled.copy()
    left, top, right, bottom = _qr_px()
    side = bottom - top
    ImageDraw.Draw(blotted).rectangle(
        [left + 0.3 * side, top + 0.3 * side, right, top + 0.7 * side], fill="black"
    )

    (page,) = read_scan(encode(scan(blotted, Scanner(rotate=2, noise=4))))

    (card,) = page.cards
    assert (card.text, card.source, card.ticked) == ("K7M4-9QX2-HT3P", "ocr", {"accept"})
    assert "card: the QR code is damaged; the typed code was read by OCR" in page.problems


def test_a_very_low_resolution_scan_still_gives_the_code_and_warns(filled: Image.Image):
    (page,) = read_scan(encode(scan(filled, Scanner(dpi=50, rotate=1)), dpi=50))

    assert [card.text for card in page.cards] == ["https://casework.example/r/K7M49QX2HT3P"]
    assert any("the scan has about 50 dpi" in problem for problem in page.problems)


def test_a_multi_page_scan_gives_each_page_with_its_card(filled: Image.Image):
    oezguer = render_page(render_letter(OEZGUER))
    images = [
        scan(filled, Scanner(dpi=150, rotate=1)),
        scan(oezguer, Scanner(dpi=150, rotate=-2)),
    ]

    for image_format in ("pdf", "tiff"):
        pages = read_scan(encode_pages(images, image_format, dpi=150))

        assert [(page.number, [card.text for card in page.cards]) for page in pages] == [
            (1, ["https://casework.example/r/K7M49QX2HT3P"]),
            (2, ["https://casework.example/r/W3RX8HNV2CK9"]),
        ]


def test_without_tesseract_remarks_raise_a_clear_error(filled, tmp_path, monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(OcrUnavailable, match="tesseract is not installed"):
        read_image(scan(filled, Scanner(dpi=150)))


def _qr_px() -> tuple[float, float, float, float]:
    scale = 300 / 25.4
    left = (CARD_LEFT + CARD.qr.x) * scale
    top = (PAGE_HEIGHT - CARD_TOP + CARD.qr.y) * scale
    return left, top, left + CARD.qr.width * scale, top + CARD.qr.height * scale


# --- files that are not scans ---------------------------------------------------------------


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_unreadable_files_say_precisely_why():
    garbage = random.Random(7).randbytes(5000)
    truncated = _png(Image.new("L", (800, 600), 200))[:300]
    huge = _png(Image.new("1", (8000, 6000), 1))
    many_pages = Document()
    for _ in range(51):
        many_pages.new_page()
    poster = Document(size=(2384, 3370))  # A0

    cases = [
        (b"", "scan.pdf: the file is empty (0 bytes)"),
        (garbage, "scan.pdf: not a PDF, PNG, JPEG or TIFF file (5,000 bytes beginning b'"),
        (b"%PDF-1.4\n" + garbage, "scan.pdf: the PDF is corrupt or encrypted ("),
        (truncated, "scan.pdf: the PNG file is corrupt or truncated ("),
        (
            huge,
            "scan.pdf: the image is 8,000 × 6,000 pixels, 48.0 megapixels; "
            "at most 40 megapixels per page are read",
        ),
        (many_pages.render(), "scan.pdf: the PDF has 51 pages; at most 50 are read"),
        (
            poster.render(),
            "scan.pdf: page 1 is 841 × 1189 mm, 139.5 megapixels at 300 dpi; "
            "at most 40 megapixels per page are read",
        ),
    ]
    for data, message in cases:
        with pytest.raises(UnreadableScan) as raised:
            read_scan(data, filename="scan.pdf")
        assert str(raised.value).startswith(message)
