"""Print a letter, let the customer fill in the card, and scan it again: for tests and bench.

`render_page()` rasterises a PDF page as the printer would; `tick()`, `write_remarks()` and
`damage_qr()` are the customer's pen (and coffee); `scan()` is the mail room's scanner: the
sheet lies rotated and not quite flat on the glass (rotation, perspective), the optics blur,
the sensor is noisy and samples at its own resolution; `encode()` writes what the scanner
delivers (PNG, JPEG, TIFF or a PDF around the image). Everything is deterministic for a
given seed.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from casework.retention.letters import CARD, CARD_LEFT, CARD_TOP, CHOICES, PAGE_HEIGHT, Box

INK = (25, 45, 150)  # a blue ballpoint pen
WHITE = (255, 255, 255)
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def render_page(pdf: bytes, *, page_index: int = 0, dpi: int = 300) -> Image.Image:
    """One page as the printer puts it on paper: RGB at `dpi`."""
    document = pdfium.PdfDocument(pdf)
    try:
        bitmap = document[page_index].render(scale=dpi / 72)
        return bitmap.to_pil().convert("RGB")
    finally:
        document.close()


def _card_box_px(box: Box, dpi: int) -> tuple[float, float, float, float]:
    """A card rectangle on the printed page in pixels: left, top, right, bottom."""
    scale = dpi / 25.4
    left = (CARD_LEFT + box.x) * scale
    top = (PAGE_HEIGHT - CARD_TOP + box.y) * scale
    return left, top, left + box.width * scale, top + box.height * scale


def card_area_px(dpi: int) -> tuple[int, int, int, int]:
    """The card with its cut line, as printed on the page (left, top, right, bottom)."""
    scale = dpi / 25.4
    top = (PAGE_HEIGHT - CARD_TOP - 8) * scale
    bottom = (PAGE_HEIGHT - CARD_TOP + CARD.height + 4) * scale
    return 0, round(top), round(210 * scale), round(bottom)


def tick(
    page: Image.Image, choice: str, *, dpi: int = 300, style: str = "x", seed: int = 0
) -> Image.Image:
    """A pen mark in the box for `choice`: a cross ("x") or a check mark ("check") that,
    as real ones do, runs a little over the box's edge."""
    marked = page.copy()
    draw = ImageDraw.Draw(marked)
    left, top, right, bottom = _card_box_px(CARD.tick_boxes[CHOICES.index(choice)], dpi)
    width, height = right - left, bottom - top
    rng = random.Random(seed)

    def at(u: float, v: float) -> tuple[float, float]:
        jitter = width * 0.04
        return (
            left + u * width + rng.uniform(-jitter, jitter),
            top + v * height + rng.uniform(-jitter, jitter),
        )

    pen = max(2, round(0.5 * dpi / 25.4))  # a 0.5 mm ballpoint line
    if style == "x":
        draw.line([at(0.12, 0.1), at(0.55, 0.52), at(0.92, 0.93)], fill=INK, width=pen)
        draw.line([at(0.9, 0.08), at(0.48, 0.5), at(0.1, 0.9)], fill=INK, width=pen)
    elif style == "check":
        draw.line([at(0.15, 0.5), at(0.42, 0.88), at(1.15, -0.2)], fill=INK, width=pen)
    else:
        raise ValueError(style)
    return marked


def write_remarks(
    page: Image.Image, text: str, *, dpi: int = 300, seed: int = 0, size_mm: float = 5.0
) -> Image.Image:
    """Text in the remarks box that looks written by hand: an oblique font, each letter a
    little off the line and the line sloping, wrapped to the box."""
    marked = page.copy()
    draw = ImageDraw.Draw(marked)
    scale = dpi / 25.4
    left, top, right, _ = _card_box_px(CARD.remarks, dpi)
    size = round(size_mm * scale)
    path = FONT_DIR / "DejaVuSans-Oblique.ttf"
    font = ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)
    rng = random.Random(seed)
    x0, y = left + 4 * scale, top + 3 * scale
    x = x0
    slope = rng.uniform(-0.015, 0.015)
    for word in text.split():
        word_width = draw.textlength(word + " ", font=font)
        if x + word_width > right - 4 * scale and x > x0:
            x, y = x0, y + size * 1.5
        for character in word + " ":
            offset = rng.uniform(-0.06, 0.06) * size + (x - x0) * slope
            draw.text((x, y + offset), character, font=font, fill=INK)
            x += draw.textlength(character, font=font) * rng.uniform(0.97, 1.08)
    return marked


def damage_qr(page: Image.Image, *, dpi: int = 300, share: float = 0.45) -> Image.Image:
    """Paint over the QR code's upper left part (a finder pattern and data) with white, as
    a torn corner or correction fluid would: too much for its error correction."""
    damaged = page.copy()
    left, top, right, bottom = _card_box_px(CARD.qr, dpi)
    size = (right - left) * share**0.5 * 1.2
    ImageDraw.Draw(damaged).rectangle([left - 5, top - 5, left + size, top + size], fill=WHITE)
    return damaged


def two_cards_on_one_page(pages: Sequence[Image.Image], *, dpi: int = 300) -> Image.Image:
    """Two cards cut from their letters and laid on the glass together: one A4 image."""
    scale = dpi / 25.4
    sheet = Image.new("RGB", (round(210 * scale), round(297 * scale)), WHITE)
    area = card_area_px(dpi)
    for index, page in enumerate(pages[:2]):
        card = page.crop(area)
        sheet.paste(card, (0, round((15 + 140 * index) * scale)))
    return sheet


@dataclass(frozen=True)
class Scanner:
    """How the sheet lies on the glass and what the scanner does to it."""

    dpi: int = 300
    rotate: float = 0.0  # degrees, counter-clockwise; 90 and 180 are exact
    perspective: float = 0.0  # how far the corners move, as a share of the image size
    blur: float = 0.0  # Gaussian radius in pixels at the page's resolution
    noise: float = 0.0  # Gaussian sensor noise, sigma in grey levels
    speckles: float = 0.0  # share of pixels turned black or white (dust)
    grey: bool = True  # a grey-scale scan (mail rooms scan documents in grey)
    seed: int = 0


def scan(page: Image.Image, scanner: Scanner, *, page_dpi: int = 300) -> Image.Image:
    """The scanner's image of a printed page rendered at `page_dpi`."""
    image = page.convert("L") if scanner.grey else page.convert("RGB")
    fill = 255 if scanner.grey else WHITE
    if scanner.rotate % 90 == 0:
        turns = int(scanner.rotate // 90) % 4
        transposes = [None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180]
        transposes.append(Image.Transpose.ROTATE_270)
        if transposes[turns] is not None:
            image = image.transpose(transposes[turns])
    else:
        image = image.rotate(
            scanner.rotate, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill
        )
    if scanner.perspective:
        image = _perspective(image, scanner.perspective, seed=scanner.seed, fill=fill)
    if scanner.blur:
        image = image.filter(ImageFilter.GaussianBlur(scanner.blur))
    if scanner.dpi != page_dpi:
        factor = scanner.dpi / page_dpi
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        image = image.resize(size, Image.Resampling.BOX if factor < 1 else Image.Resampling.BICUBIC)
    if scanner.noise or scanner.speckles:
        rng = np.random.default_rng(scanner.seed)
        pixels = np.asarray(image).astype(np.float32)
        if scanner.noise:
            pixels += rng.normal(0, scanner.noise, pixels.shape)
        if scanner.speckles:
            mask = rng.random(pixels.shape[:2])
            pixels[mask < scanner.speckles / 2] = 0
            pixels[mask > 1 - scanner.speckles / 2] = 255
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image


def _perspective(image: Image.Image, amount: float, *, seed: int, fill: object) -> Image.Image:
    """Move each corner by up to `amount` of the image size, at random: a sheet that is
    not flat, or a camera-like view."""
    rng = random.Random(seed)
    width, height = image.size
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    moved = [
        (x + rng.uniform(-amount, amount) * width, y + rng.uniform(-amount, amount) * height)
        for x, y in corners
    ]
    # PIL maps each output pixel back into the input: coefficients from output to input.
    rows, values = [], []
    for (x, y), (u, v) in zip(corners, moved, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    coefficients = np.linalg.solve(np.array(rows, dtype=float), np.array(values, dtype=float))
    return image.transform(
        image.size,
        Image.Transform.PERSPECTIVE,
        tuple(coefficients),
        resample=Image.Resampling.BICUBIC,
        fillcolor=fill,
    )


def encode(
    image: Image.Image, image_format: str = "png", *, dpi: int = 300, quality: int = 75
) -> bytes:
    """The scanner's file: "png", "jpeg", "tiff" or "pdf" (the image in a PDF page)."""
    out = io.BytesIO()
    image = image.copy()  # see encode_pages()
    if image_format == "png":
        image.save(out, format="PNG", dpi=(dpi, dpi), compress_level=1)
    elif image_format == "jpeg":
        image.save(out, format="JPEG", quality=quality, dpi=(dpi, dpi))
    elif image_format == "tiff":
        image.save(out, format="TIFF", compression="tiff_deflate", dpi=(dpi, dpi))
    elif image_format == "pdf":
        image.save(out, format="PDF", resolution=dpi)
    else:
        raise ValueError(image_format)
    return out.getvalue()


def encode_pages(
    images: Sequence[Image.Image], image_format: str = "pdf", *, dpi: int = 300
) -> bytes:
    """Several scanned pages in one file: a PDF or a multi-page TIFF."""
    out = io.BytesIO()
    # Copies: Pillow 13 keeps a PDF save's encoder settings on the image, and a later TIFF
    # save of the same image then fails inside libtiff.
    first, *rest = (image.copy() for image in images)
    if image_format == "pdf":
        first.save(out, format="PDF", resolution=dpi, save_all=True, append_images=rest)
    elif image_format == "tiff":
        first.save(
            out, format="TIFF", compression="tiff_deflate", save_all=True, append_images=rest
        )
    else:
        raise ValueError(image_format)
    return out.getvalue()
