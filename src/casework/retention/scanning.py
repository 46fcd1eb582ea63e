"""Reading scanned response cards back (pure): whose card it is, what is ticked, what is written.

A page goes through these steps; each costlier step runs only when the cheaper one found
nothing:

1. **QR code** (zxing-cpp): first on a copy scaled down to about 150 dpi, then at full
   resolution with every size, with other binarizers, denoised, and enlarged (for scans
   below ~100 dpi). zxing-cpp reports the symbol's four corners in reading order, so the
   page's rotation (any angle), scale and shear come with the text.
2. **The card's layout** (`letters.CARD`, the numbers the letter was drawn with) is mapped
   through the affine transform that takes the symbol's corners to where they were found.
   The card is resampled upright at 12 px/mm (about 300 dpi); there the remarks box's four
   edges are measured, and a perspective transform through the symbol's and the box's
   corners, which span the card, replaces the first estimate: a sheet that lay crooked or
   not flat still puts every box within a few tenths of a millimetre.
3. **Tick boxes**: the share of ink inside a box, its printed border excluded, after a
   5 × 5 median filter that removes dust and sensor noise. ≥ 5 % is a mark (a cross in a
   7 mm box is about 20 %); 1.5–5 % is noted as a faint mark and read as not ticked.
4. **Remarks**: if ≥ 3 mm² of ink remain in the remarks box (a short word), only that box,
   upright and cleaned, goes to tesseract (German). The printed label is outside the box.
5. **No QR code decoded**: if zxing-cpp located a symbol it could not decode, the layout
   comes from its corners as above and tesseract reads the typed code beside it. If not
   even that, tesseract reads the whole page (turned upright by its orientation detection
   and deskewed here), the typed code is the tallest text shaped like a code, and the
   card's boxes are found from there by their printed edges; if they are not found, ticks
   and remarks stay empty and a problem says so. Either way the card has source "ocr".
   This path costs one to three full-page OCR runs (about 1 s each at 200 dpi).

Codes read by OCR can confuse O with 0 (and, rarely, I with 1): callers should match them
against issued codes, ideally from an alphabet without these pairs. A decoded QR text is
exact (Reed–Solomon checked).

Limits: 50 pages, 40 megapixels per page; PDF pages are rendered at 300 dpi.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
import zxingcpp
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError
from scipy import ndimage

from casework.partners.pdf import MM, text_width
from casework.retention.letters import CARD, CHOICES, CODE_FONT, Box, code_font_size

MAX_PAGES = 50
MAX_PIXELS = 40_000_000
PDF_DPI = 300
PX_PER_MM = 12  # the upright card: about 300 dpi, what tesseract reads best
OCR_TIMEOUT_SECONDS = 60
TICK_INK = 0.05
FAINT_TICK_INK = 0.015
REMARKS_MIN_INK_MM2 = 3.0
# The QR code still decodes at 35 dpi, but pen strokes fade: ticks are reliable from about
# 60 dpi, handwriting from about 75 dpi (bench/README.md).
LOW_DPI = 72  # a 75 dpi scan measures 73–77
BLANK_INK = 0.0005  # share of dark pixels below which a page counts as blank

# The card, with a margin, as resampled upright: mm from the card's top left corner.
_REGION = Box(-4, -4, CARD.width + 8, CARD.height + 8)
_CODE_PATTERN = re.compile(
    r"(?<![A-Z0-9])[A-Z0-9]{3,}(?:\s?[-\u2010-\u2015]\s?[A-Z0-9]{3,})+(?![A-Z0-9])"
)
_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"


class UnreadableScan(Exception):
    """The file cannot be read as a scan at all; the message says why."""


class OcrUnavailable(RuntimeError):
    """tesseract (or its German language data) is not installed: a deployment fault, not a
    property of the scan."""


@dataclass(frozen=True)
class ScannedCard:
    text: str  # the decoded QR text; or, without a readable QR code, the typed code by OCR
    source: str  # "qr" or "ocr"
    ticked: frozenset[str]  # subset of CHOICES whose box is marked
    remarks: str  # OCR text of the remarks box; "" when the box is empty


@dataclass(frozen=True)
class ScannedPage:
    number: int  # 1-based
    cards: tuple[ScannedCard, ...]
    problems: tuple[str, ...]  # English, for logs and the person who looks at the exception


# --- files ----------------------------------------------------------------------------------


def read_scan(data: bytes, *, filename: str = "") -> list[ScannedPage]:
    """Every page of a scan (PDF, PNG, JPEG or TIFF, told apart by content) in order.
    Raises UnreadableScan before reading any page if the file is not one of these, is
    empty, corrupt, has more than 50 pages or a page above 40 megapixels."""
    prefix = f"{filename}: " if filename else ""
    try:
        with _opened(data) as loaders:
            return [read_image(load(), number=number) for number, load in enumerate(loaders, 1)]
    except UnreadableScan as error:
        raise UnreadableScan(f"{prefix}{error}") from error.__cause__


_Loaders = list[Callable[[], Image.Image]]


@contextmanager
def _opened(data: bytes) -> Iterator[_Loaders]:
    """Checks the whole file first (kind, page count, page sizes), then gives one loader
    per page, so pages are decoded one at a time; closes the file afterwards."""
    if not data:
        raise UnreadableScan("the file is empty (0 bytes)")
    kind = _sniff(data)
    if kind is None:
        raise UnreadableScan(
            f"not a PDF, PNG, JPEG or TIFF file ({len(data):,} bytes beginning {data[:8]!r})"
        )
    if kind == "PDF":
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            raise UnreadableScan(f"the PDF is corrupt or encrypted ({error})") from error
        try:
            yield _pdf_loaders(document)
        finally:
            document.close()
    else:
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as error:
            raise UnreadableScan(f"the {kind} image is too large ({error})") from error
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise UnreadableScan(f"the {kind} file is corrupt ({error})") from error
        with image:
            yield _image_loaders(image, kind)


def _sniff(data: bytes) -> str | None:
    if b"%PDF-" in data[:1024]:  # the header may follow a few bytes of junk
        return "PDF"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    return None


def _pdf_loaders(document: pdfium.PdfDocument) -> _Loaders:
    count = len(document)
    if count == 0:
        raise UnreadableScan("the PDF has no pages")
    if count > MAX_PAGES:
        raise UnreadableScan(f"the PDF has {count} pages; at most {MAX_PAGES} are read")
    scale = PDF_DPI / 72
    for index in range(count):
        width, height = document[index].get_size()
        pixels = width * scale * height * scale
        if pixels > MAX_PIXELS:
            raise UnreadableScan(
                f"page {index + 1} is {width / MM:.0f} × {height / MM:.0f} mm, "
                f"{pixels / 1e6:.1f} megapixels at {PDF_DPI} dpi; at most "
                f"{MAX_PIXELS / 1e6:.0f} megapixels per page are read"
            )

    def loader(index: int) -> Callable[[], Image.Image]:
        def load() -> Image.Image:
            try:
                bitmap = document[index].render(scale=scale, grayscale=True)
            except pdfium.PdfiumError as error:
                raise UnreadableScan(f"page {index + 1} of the PDF cannot be rendered") from error
            return bitmap.to_pil()

        return load

    return [loader(index) for index in range(count)]


def _image_loaders(image: Image.Image, kind: str) -> _Loaders:
    try:
        frames = getattr(image, "n_frames", 1)
    except (OSError, ValueError, EOFError) as error:
        raise UnreadableScan(f"the {kind} file is corrupt ({error})") from error
    if frames > MAX_PAGES:
        raise UnreadableScan(f"the {kind} file has {frames} pages; at most {MAX_PAGES} are read")
    for index in range(frames):
        page = f"page {index + 1}" if frames > 1 else "the image"
        try:
            image.seek(index)
        except (OSError, EOFError) as error:
            raise UnreadableScan(f"{page} of the {kind} file is corrupt ({error})") from error
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise UnreadableScan(
                f"{page} is {width:,} × {height:,} pixels, {width * height / 1e6:.1f} "
                f"megapixels; at most {MAX_PIXELS / 1e6:.0f} megapixels per page are read"
            )
        if width == 0 or height == 0:
            raise UnreadableScan(f"{page} has no pixels")

    def loader(index: int) -> Callable[[], Image.Image]:
        def load() -> Image.Image:
            where = f"page {index + 1} of the {kind} file" if frames > 1 else f"the {kind} file"
            try:
                image.seek(index)
                image.load()
                # Phones store "turn me" in EXIF instead of turning the pixels.
                return ImageOps.exif_transpose(image) if kind == "JPEG" else image.copy()
            except (OSError, ValueError, EOFError) as error:
                raise UnreadableScan(f"{where} is corrupt or truncated ({error})") from error

        return load

    return [loader(index) for index in range(frames)]


# --- a page ---------------------------------------------------------------------------------


def read_image(image: Image.Image, *, number: int = 1) -> ScannedPage:
    """The cards on one scanned page."""
    if image.width * image.height > MAX_PIXELS:
        raise UnreadableScan(
            f"page {number} is {image.width:,} × {image.height:,} pixels; at most "
            f"{MAX_PIXELS / 1e6:.0f} megapixels per page are read"
        )
    grey = _grey(image)
    if _is_blank(grey):
        return ScannedPage(number=number, cards=(), problems=("the page is blank",))
    problems: list[str] = []
    symbols = _find_symbols(grey)
    decoded = [symbol for symbol in symbols if symbol.text is not None]
    cards: list[ScannedCard] = []
    for index, symbol in enumerate(decoded, start=1):
        name = f"card {index}" if len(decoded) > 1 else "card"
        layout = _affine(_QR_CORNERS, symbol.corners)
        anchors = (_QR_CORNERS, symbol.corners)
        text = symbol.text or ""
        cards.append(_read_card(grey, layout, text, "qr", problems, name=name, anchors=anchors))
    if not decoded:
        cards = _read_without_qr(grey, symbols, problems)
    if len(cards) > 1:
        problems.append(f"{len(cards)} response cards on one page")
    return ScannedPage(number=number, cards=tuple(cards), problems=tuple(problems))


def _grey(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "F"):
        pixels = np.asarray(image, dtype=np.float32)
        top = float(pixels.max()) or 1.0
        return Image.fromarray((pixels * (255 / top)).astype(np.uint8))
    return image.convert("L") if image.mode != "L" else image


# --- QR codes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Symbol:
    text: str | None  # None: located, but too damaged to decode
    corners: np.ndarray  # 4 × 2 page pixels: top left, top right, bottom right, bottom left


_QR_CORNERS = np.array(
    [
        (CARD.qr.x, CARD.qr.y),
        (CARD.qr.right, CARD.qr.y),
        (CARD.qr.right, CARD.qr.bottom),
        (CARD.qr.x, CARD.qr.bottom),
    ],
    dtype=float,
)
_QR = zxingcpp.BarcodeFormat.QRCode
_NO_ANCHORS = (np.zeros((0, 2)), np.zeros((0, 2)))


def _find_symbols(grey: Image.Image) -> list[_Symbol]:
    """The QR codes on the page, top to bottom; cheap passes first."""
    long_side = max(grey.size)
    passes: list[tuple[Callable[[], Image.Image], dict[str, object]]] = []
    if long_side > 1800:
        # About 150 dpi for A4: modules of 5 px, and a quarter of the pixels to look at.
        passes.append((lambda: _scaled(grey, 1800 / long_side), {"try_downscale": False}))
    passes += [
        (lambda: grey, {}),
        (lambda: grey, {"binarizer": zxingcpp.Binarizer.GlobalHistogram}),
        (lambda: grey.filter(ImageFilter.GaussianBlur(1.5)), {}),
    ]
    if long_side < 2600:
        # Below ~100 dpi a module is 3 px or less: enlarging smoothly helps the detector.
        passes.append((lambda: _scaled(grey, 2.0, Image.Resampling.BICUBIC), {}))
    for make, options in passes:
        image = make()
        found = zxingcpp.read_barcodes(
            image, formats=_QR, try_rotate=False, try_invert=False, **options
        )
        if found:
            return _symbols(found, grey.width / image.width)
    # Nothing decoded: is there a symbol zxing-cpp can see but not read?
    found = zxingcpp.read_barcodes(grey, formats=_QR, try_invert=False, return_errors=True)
    return _symbols(found, 1.0)


def _scaled(
    image: Image.Image, factor: float, resample: Image.Resampling = Image.Resampling.BOX
) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, resample)


def _symbols(found: Sequence[zxingcpp.Barcode], scale: float) -> list[_Symbol]:
    symbols: list[_Symbol] = []
    for barcode in found:
        position = barcode.position
        corners = np.array(
            [
                (point.x * scale, point.y * scale)
                for point in (
                    position.top_left,
                    position.top_right,
                    position.bottom_right,
                    position.bottom_left,
                )
            ],
            dtype=float,
        )
        if _side(corners) < 8:
            continue
        text = barcode.text if barcode.valid else None
        centre = corners.mean(axis=0)
        duplicate = any(
            np.linalg.norm(symbol.corners.mean(axis=0) - centre) < _side(symbol.corners) / 2
            for symbol in symbols
        )
        if not duplicate:
            symbols.append(_Symbol(text=text, corners=corners))
    return sorted(symbols, key=lambda symbol: (symbol.corners[:, 1].min(), symbol.corners[0, 0]))


def _side(corners: np.ndarray) -> float:
    return float(np.linalg.norm(corners[1] - corners[0]))


# --- geometry -------------------------------------------------------------------------------


def _affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The least-squares affine map from card millimetres to page pixels, as a 3 × 3 matrix."""
    rows = np.hstack([source, np.ones((len(source), 1))])
    solution, *_ = np.linalg.lstsq(rows, target, rcond=None)
    matrix = np.eye(3)
    matrix[:2, :] = solution.T
    return matrix


def _homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The least-squares perspective map (normalised direct linear transform)."""

    def normaliser(points: np.ndarray) -> np.ndarray:
        centre = points.mean(axis=0)
        spread = np.sqrt(((points - centre) ** 2).sum(axis=1)).mean() or 1.0
        factor = math.sqrt(2) / spread
        return np.array(
            [[factor, 0, -factor * centre[0]], [0, factor, -factor * centre[1]], [0, 0, 1]]
        )

    norm_source, norm_target = normaliser(source), normaliser(target)
    a = _apply(norm_source, source)
    b = _apply(norm_target, target)
    rows = []
    for (x, y), (u, v) in zip(a, b, strict=True):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    _, _, vt = np.linalg.svd(np.array(rows))
    matrix = np.linalg.inv(norm_target) @ vt[-1].reshape(3, 3) @ norm_source
    return matrix / matrix[2, 2]


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    result = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return result[:, :2] / result[:, 2:3]


@dataclass
class _Upright:
    """The card resampled upright at PX_PER_MM, with its ink mask."""

    grey: np.ndarray
    ink: np.ndarray

    @staticmethod
    def px(millimetres: float, origin: float) -> int:
        return round((millimetres - origin) * PX_PER_MM)

    def crop(self, box: Box, array: np.ndarray | None = None) -> np.ndarray:
        source = self.ink if array is None else array
        top, bottom = self.px(box.y, _REGION.y), self.px(box.bottom, _REGION.y)
        left, right = self.px(box.x, _REGION.x), self.px(box.right, _REGION.x)
        return source[max(top, 0) : max(bottom, 0), max(left, 0) : max(right, 0)]


def _upright(grey: Image.Image, layout: np.ndarray) -> _Upright:
    to_card = np.array(
        [[1 / PX_PER_MM, 0, _REGION.x], [0, 1 / PX_PER_MM, _REGION.y], [0, 0, 1]], dtype=float
    )
    matrix = layout @ to_card
    matrix = matrix / matrix[2, 2]
    size = (round(_REGION.width * PX_PER_MM), round(_REGION.height * PX_PER_MM))
    image = grey.transform(
        size,
        Image.Transform.PERSPECTIVE,
        tuple(matrix.flatten()[:8]),
        resample=Image.Resampling.BILINEAR,
        fillcolor=255,
    )
    pixels = np.asarray(image)
    return _Upright(grey=pixels, ink=pixels < _ink_threshold(pixels))


def _ink_threshold(pixels: np.ndarray) -> float:
    """Halfway between paper (the 80th percentile) and the darkest ink (0.5th): a card is
    mostly paper, and its QR code and text give enough ink."""
    histogram = np.bincount(pixels.ravel(), minlength=256)
    cumulative = np.cumsum(histogram) / pixels.size
    dark = int(np.searchsorted(cumulative, 0.005))
    paper = int(np.searchsorted(cumulative, 0.8))
    if paper - dark < 40:  # hardly any contrast: only clear ink counts
        return paper - 40
    return (paper + dark) / 2


def _clean(ink: np.ndarray) -> np.ndarray:
    """A 5 × 5 median of the ink mask: dust and noise go, pen strokes (≥ 0.3 mm) stay."""
    if ink.size == 0:
        return ink
    return ndimage.uniform_filter(ink.astype(np.float32), size=5, mode="constant") > 0.5


# --- the card -------------------------------------------------------------------------------


def _read_card(
    grey: Image.Image,
    layout: np.ndarray,
    text: str,
    source: str,
    problems: list[str],
    *,
    name: str,
    anchors: tuple[np.ndarray, np.ndarray],
    search_mm: float = 3.0,
) -> ScannedCard:
    """Ticks and remarks of one card. `layout` maps card mm to page pixels roughly;
    `anchors` are card points (mm) with their page pixels known for sure (the QR code's
    corners), which the final layout goes through together with the remarks box's corners
    found within `search_mm` of where `layout` puts them."""
    upright = _upright(grey, layout)
    corners = _remarks_corners(upright, search_mm)
    if corners is not None:
        box = CARD.remarks
        nominal = np.array(
            [(box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom)]
        )
        source_points = np.vstack([anchors[0], nominal])
        target_points = np.vstack([anchors[1], _apply(layout, corners)])
        layout = _homography(source_points, target_points)
        upright = _upright(grey, layout)
    elif len(anchors[0]) == 0:
        problems.append(
            f"{name}: the card's boxes were not found without the QR code; "
            "ticks and remarks not read"
        )
        return ScannedCard(text=text, source=source, ticked=frozenset(), remarks="")

    dpi = _scale_px_per_mm(layout) * 25.4
    if dpi < LOW_DPI:
        problems.append(
            f"{name}: the scan has about {dpi:.0f} dpi; below {LOW_DPI} dpi ticks and "
            "remarks may be misread (150 dpi or more is best)"
        )
    outside = _outside(grey, layout)
    ticked = set()
    for choice, box in zip(CHOICES, CARD.tick_boxes, strict=True):
        if box in outside:
            problems.append(f"{name}: the {choice!r} box is outside the scan")
            continue
        share = _tick_ink(upright, box)
        if share >= TICK_INK:
            ticked.add(choice)
        elif share >= FAINT_TICK_INK:
            problems.append(
                f"{name}: the {choice!r} box has a faint mark ({share:.0%} ink), read as not ticked"
            )
    remarks = ""
    if CARD.remarks in outside:
        problems.append(f"{name}: the remarks box is outside the scan")
    else:
        remarks = _remarks(upright, problems, name=name)
    return ScannedCard(text=text, source=source, ticked=frozenset(ticked), remarks=remarks)


def _outside(grey: Image.Image, layout: np.ndarray) -> set[Box]:
    """The boxes that do not lie (with 1 mm to spare) within the page image."""
    margin = _scale_px_per_mm(layout)
    outside = set()
    for box in (*CARD.tick_boxes, CARD.remarks):
        corners = _apply(
            layout,
            np.array(
                [(box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom)]
            ),
        )
        inside = (
            (corners[:, 0] >= -margin)
            & (corners[:, 0] <= grey.width + margin)
            & (corners[:, 1] >= -margin)
            & (corners[:, 1] <= grey.height + margin)
        )
        if not inside.all():
            outside.add(box)
    return outside


def _scale_px_per_mm(layout: np.ndarray) -> float:
    points = _apply(layout, np.array([(0.0, 0.0), (10.0, 0.0)]))
    return float(np.linalg.norm(points[1] - points[0])) / 10


def _edge(
    upright: _Upright, *, horizontal: bool, at: float, span: tuple[float, float], search: float
) -> float | None:
    """Where a printed line runs near `at` (mm): a horizontal line (its y) over the x range
    `span`, or a vertical one (its x) over the y range. None when no line is there."""
    if horizontal:
        box = _clipped(Box(span[0], at - search, span[1] - span[0], 2 * search))
        profile = upright.crop(box).sum(axis=1)
        origin = box.y
    else:
        box = _clipped(Box(at - search, span[0], 2 * search, span[1] - span[0]))
        profile = upright.crop(box).sum(axis=0)
        origin = box.x
    length = (span[1] - span[0]) * PX_PER_MM
    if profile.size == 0 or profile.max() < 0.5 * length:
        return None
    peak = int(profile.argmax())
    window = slice(max(peak - PX_PER_MM, 0), peak + PX_PER_MM + 1)
    weights = np.where(profile[window] >= 0.5 * profile[peak], profile[window], 0).astype(float)
    offsets = np.arange(window.start, window.start + len(weights))
    centre = float((weights * offsets).sum() / weights.sum())
    return origin + (centre + 0.5) / PX_PER_MM


def _clipped(box: Box) -> Box:
    """The part of `box` within the upright card's region."""
    left, top = max(box.x, _REGION.x), max(box.y, _REGION.y)
    right, bottom = min(box.right, _REGION.right), min(box.bottom, _REGION.bottom)
    return Box(left, top, max(right - left, 0), max(bottom - top, 0))


def _remarks_corners(upright: _Upright, search: float) -> np.ndarray | None:
    """The remarks box's corners (card mm, as they lie in `upright`) from its four edges,
    each measured near both ends; None if an edge is missing."""
    box = CARD.remarks
    xs = (box.x + 30, box.right - 30)  # clear of the printed label at the top left
    ys = (box.y + 8, box.bottom - 8)
    lines = {}
    for name, horizontal, at, positions in (
        ("top", True, box.y, xs),
        ("bottom", True, box.bottom, xs),
        ("left", False, box.x, ys),
        ("right", False, box.right, ys),
    ):
        found = [
            _edge(upright, horizontal=horizontal, at=at, span=(p - 5, p + 5), search=search)
            for p in positions
        ]
        if None in found:
            return None
        lines[name] = [
            (p, value) if horizontal else (value, p)
            for p, value in zip(positions, found, strict=True)
        ]
    corners = np.array(
        [
            _intersect(lines["top"], lines["left"]),
            _intersect(lines["top"], lines["right"]),
            _intersect(lines["bottom"], lines["right"]),
            _intersect(lines["bottom"], lines["left"]),
        ],
        dtype=float,
    )
    # Four lines that do not make the box's shape are something else (writing, a fold).
    width = np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])
    height = np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])
    if abs((width / height) / (box.width / box.height) - 1) > 0.04:
        return None
    return corners


def _intersect(
    first: list[tuple[float, float]], second: list[tuple[float, float]]
) -> tuple[float, float]:
    (x1, y1), (x2, y2) = first
    (x3, y3), (x4, y4) = second
    denominator = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    a = x1 * y2 - y1 * x2
    b = x3 * y4 - y3 * x4
    return (
        (a * (x3 - x4) - (x1 - x2) * b) / denominator,
        (a * (y3 - y4) - (y1 - y2) * b) / denominator,
    )


def _tick_ink(upright: _Upright, box: Box) -> float:
    """The share of ink inside a tick box, its border excluded. The box is first found
    within ±1 mm by its edges (a last correction of the layout)."""
    across = (box.x + 1, box.right - 1)
    down = (box.y + 1, box.bottom - 1)
    offsets_y = _offsets(
        (_edge(upright, horizontal=True, at=at, span=across, search=1), at)
        for at in (box.y, box.bottom)
    )
    offsets_x = _offsets(
        (_edge(upright, horizontal=False, at=at, span=down, search=1), at)
        for at in (box.x, box.right)
    )
    inset = 1.0  # the 1 pt border plus what the layout may still be off
    interior = Box(
        box.x + offsets_x + inset,
        box.y + offsets_y + inset,
        box.width - 2 * inset,
        box.height - 2 * inset,
    )
    ink = _clean(upright.crop(interior))
    return float(ink.mean()) if ink.size else 0.0


def _offsets(pairs: Iterable[tuple[float | None, float]]) -> float:
    """The mean of found − expected over the edges that were found (0 if none)."""
    differences = [found - expected for found, expected in pairs if found is not None]
    return sum(differences) / len(differences) if differences else 0.0


def _remarks(upright: _Upright, problems: list[str], *, name: str) -> str:
    box = CARD.remarks
    inset = 1.2
    interior = Box(box.x + inset, box.y + inset, box.width - 2 * inset, box.height - 2 * inset)
    ink = _clean(upright.crop(interior))
    if ink.sum() < REMARKS_MIN_INK_MM2 * PX_PER_MM**2:
        return ""
    rows = np.flatnonzero(ink.any(axis=1))
    columns = np.flatnonzero(ink.any(axis=0))
    margin = 2 * PX_PER_MM
    crop = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    page = np.full((crop.shape[0] + 2 * margin, crop.shape[1] + 2 * margin), 255, np.uint8)
    page[margin:-margin, margin:-margin] = np.where(crop, 0, 255)
    try:
        text = _tesseract(Image.fromarray(page), "-l", "deu", "--psm", "6", "--dpi", str(_DPI))
    except _OcrFailed as error:
        problems.append(f"{name}: the remarks could not be read ({error})")
        return ""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    remarks = "\n".join(line for line in lines if line.strip(" |.,;:-_~'\"")).strip()
    if not remarks:
        problems.append(f"{name}: there is writing in the remarks box, but OCR read no text")
    return remarks


_DPI = round(PX_PER_MM * 25.4)


# --- without a QR code ----------------------------------------------------------------------


def _read_without_qr(
    grey: Image.Image, symbols: Sequence[_Symbol], problems: list[str]
) -> list[ScannedCard]:
    cards = []
    for index, symbol in enumerate(symbols, start=1):
        # Located but not decodable: the layout still comes from its corners.
        layout = _affine(_QR_CORNERS, symbol.corners)
        code = _code_beside(grey, layout)
        if code is None:
            continue
        name = f"card {index}" if len(symbols) > 1 else "card"
        problems.append(f"{name}: the QR code is damaged; the typed code was read by OCR")
        anchors = (_QR_CORNERS, symbol.corners)
        cards.append(_read_card(grey, layout, code, "ocr", problems, name=name, anchors=anchors))
    if cards:
        return cards
    try:
        found = _codes_on_page(grey)
    except _OcrFailed as error:
        problems.append(f"no QR code found, and the page could not be read by OCR ({error})")
        return []
    if not found:
        problems.append("no response code found on the page")
        return []
    for index, (code, layout) in enumerate(found, start=1):
        name = f"card {index}" if len(found) > 1 else "card"
        problems.append(f"{name}: no readable QR code; the typed code was read by OCR")
        # The code's box gives the layout only roughly: search the boxes' edges widely,
        # and trust only them for the final layout.
        cards.append(
            _read_card(
                grey, layout, code, "ocr", problems, name=name, anchors=_NO_ANCHORS, search_mm=8
            )
        )
    return cards


def _is_blank(grey: Image.Image) -> bool:
    small = np.asarray(_scaled(grey, min(1.0, 1000 / max(grey.size))))
    paper = float(np.percentile(small, 90))
    return float((small < paper - 80).mean()) < BLANK_INK


def _code_beside(grey: Image.Image, layout: np.ndarray) -> str | None:
    """The typed code beside a QR code, read upright from where the letter printed it."""
    upright = _upright(grey, layout)
    # From above the capitals of the largest code to below its baseline, clear of the label.
    line = Box(CARD.code_x - 2, CARD.code_baseline - 6.5, CARD.code_width + 4, 8.5)
    crop = upright.crop(line, upright.grey)
    if crop.size == 0:
        return None
    try:
        return _best_code(_tesseract(Image.fromarray(crop), *_code_ocr_arguments(_DPI)))
    except _OcrFailed:
        return None


def _code_ocr_arguments(dpi: int) -> tuple[str, ...]:
    # Random letters and digits: the English model reads them better than the German one.
    whitelist = f"tessedit_char_whitelist={_CODE_ALPHABET}"
    return ("-l", "eng", "--psm", "7", "--dpi", str(dpi), "-c", whitelist)


def _best_code(text: str) -> str | None:
    codes = [_normalised(match.group()) for match in _CODE_PATTERN.finditer(text)]
    codes = [code for code in codes if sum(c.isalnum() for c in code) >= 8]
    return max(codes, key=len) if codes else None


def _normalised(code: str) -> str:
    return re.sub(r"\s*[-\u2010-\u2015]\s*", "-", code.strip()).upper()


@dataclass(frozen=True)
class _Word:
    text: str
    left: float
    top: float
    right: float
    bottom: float


def _codes_on_page(grey: Image.Image) -> list[tuple[str, np.ndarray]]:
    """Typed codes found by OCR of the whole page, each with the layout (card mm → page px)
    estimated from where it stands. The page is scaled to about 200 dpi, turned upright by
    tesseract's orientation detection and deskewed here first."""
    factor = min(1.0, 2400 / max(grey.size))
    small = _scaled(grey, factor)
    to_page = np.diag([1 / factor, 1 / factor, 1.0])  # small px → page px
    upright, to_small = _turned_and_deskewed(small, 0)
    lines, confidence = _ocr_words(upright)
    if confidence < _UPRIGHT_CONFIDENCE:
        # Most scans are upright; only text that reads badly costs the orientation check.
        turn = _orientation(small)
        if turn:
            upright, to_small = _turned_and_deskewed(small, turn)
            lines, confidence = _ocr_words(upright)
    if confidence < _UPRIGHT_CONFIDENCE:
        return []  # sideways or upside-down text reads as code-like nonsense
    return _codes_in_words(upright, lines, to_page @ to_small)


# tesseract's median word confidence: about 95 on an upright letter, 20–30 on one turned by
# 90° or 180°.
_UPRIGHT_CONFIDENCE = 60


def _turned_and_deskewed(image: Image.Image, clockwise: int) -> tuple[Image.Image, np.ndarray]:
    """The image turned clockwise by `clockwise` degrees (a multiple of 90) and then by its
    skew; with the matrix that maps the result's pixels back to the input's."""
    width, height = image.size
    angle = math.radians(clockwise)
    out_size = (height, width) if clockwise % 180 else (width, height)
    skew = _skew_degrees(image, clockwise)
    total = angle + math.radians(skew)
    cos, sin = math.cos(total), math.sin(total)
    # Output pixel p → input: rotate about the output centre back to the input centre.
    centre_in = np.array([width / 2, height / 2])
    centre_out = np.array([out_size[0] / 2, out_size[1] / 2])
    rotation = np.array([[cos, sin], [-sin, cos]])  # inverse of a clockwise turn (y down)
    matrix = np.eye(3)
    matrix[:2, :2] = rotation
    matrix[:2, 2] = centre_in - rotation @ centre_out
    turned = image.transform(
        out_size,
        Image.Transform.AFFINE,
        tuple(matrix[:2].flatten()),
        resample=Image.Resampling.BILINEAR,
        fillcolor=255,
    )
    return turned, matrix


def _skew_degrees(image: Image.Image, clockwise: int) -> float:
    """The small angle (±6°) that makes text lines horizontal after the turn: the angle
    whose row profile of dark pixels is sharpest."""
    factor = min(1.0, 1000 / max(image.size))
    pixels = np.asarray(_scaled(image, factor))
    ys, xs = np.nonzero(pixels < np.percentile(pixels, 90) - 80)
    if len(xs) < 100:
        return 0.0
    if len(xs) > 60_000:
        pick = np.random.default_rng(0).choice(len(xs), 60_000, replace=False)
        xs, ys = xs[pick], ys[pick]
    turn = math.radians(clockwise)
    # Coordinates after the clockwise turn (y down): x' = x cos − y sin, y' = x sin + y cos.
    x_turned = xs * math.cos(turn) - ys * math.sin(turn)
    y_turned = xs * math.sin(turn) + ys * math.cos(turn)

    def sharpness(degrees: float) -> float:
        a = math.radians(degrees)
        rows = x_turned * math.sin(a) + y_turned * math.cos(a)
        histogram = np.bincount((rows - rows.min()).astype(np.int64))
        return float((histogram.astype(np.float64) ** 2).sum())

    best = max(np.arange(-6, 6.01, 0.25), key=sharpness)
    best = max(np.arange(best - 0.25, best + 0.26, 0.05), key=sharpness)
    return float(best)


def _orientation(image: Image.Image) -> int:
    """How far (degrees clockwise) tesseract's orientation detection would turn the page."""
    try:
        text = _tesseract(image, "--psm", "0")
    except _OcrFailed:
        return 0
    match = re.search(r"Rotate:\s*(\d+)", text)
    return int(match.group(1)) % 360 if match else 0


def _ocr_words(image: Image.Image) -> tuple[list[list[_Word]], float]:
    """The page's words by line (tesseract's TSV, German, automatic layout), and their
    median confidence (0–100)."""
    text = _tesseract(image, "-l", "deu", "--psm", "3", "tsv")
    lines: dict[tuple[str, str, str], list[_Word]] = {}
    confidences = []
    for row in text.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12 or fields[0] != "5" or not fields[11].strip():
            continue
        left, top, width, height = (float(value) for value in fields[6:10])
        lines.setdefault((fields[2], fields[3], fields[4]), []).append(
            _Word(fields[11].strip(), left, top, left + width, top + height)
        )
        confidences.append(float(fields[10]))
    return list(lines.values()), float(np.median(confidences)) if confidences else 0.0


def _codes_in_words(
    image: Image.Image, lines: Sequence[Sequence[_Word]], to_page: np.ndarray
) -> list[tuple[str, np.ndarray]]:
    candidates: list[tuple[str, _Word]] = []
    for words in lines:
        text, spans = "", []
        for word in words:
            text += (" " if text else "") + word.text
            spans.append((len(text) - len(word.text), len(text), word))
        for match in _CODE_PATTERN.finditer(text):
            inside = [w for a, b, w in spans if a < match.end() and b > match.start()]
            box = _Word(
                _normalised(match.group()),
                min(w.left for w in inside),
                min(w.top for w in inside),
                max(w.right for w in inside),
                max(w.bottom for w in inside),
            )
            if sum(c.isalnum() for c in box.text) >= 8:
                candidates.append((box.text, box))
    if not candidates:
        return []
    # The code is the tallest text shaped like one (16 pt, the body is 10.5 pt), which
    # also gives the page's resolution for tesseract.
    tallest = max(box.bottom - box.top for _, box in candidates)
    found: list[tuple[str, np.ndarray]] = []
    for text, box in candidates:
        if box.bottom - box.top < 0.75 * tallest or any(text == seen for seen, _ in found):
            continue
        # Read the code again on its own, with the model and alphabet made for it.
        height = box.bottom - box.top
        dpi = round(height / (_CAP_HEIGHT * code_font_size(text) / MM) * 25.4)
        crop = image.crop(
            (
                round(box.left - height),
                round(box.top - height / 2),
                round(box.right + height),
                round(box.bottom + height / 2),
            )
        )
        try:
            again = _best_code(_tesseract(crop, *_code_ocr_arguments(dpi)))
        except _OcrFailed:
            again = None
        code = again or text
        found.append((code, to_page @ _layout_from_code(code, box)))
    return found


_CAP_HEIGHT = 0.72  # Helvetica Bold's capitals and digits, in font sizes


def _layout_from_code(code: str, box: _Word) -> np.ndarray:
    """Card mm → pixels of the upright page, from the typed code's box: its ink spans the
    code's printed width (less the side bearings of its first and last letters) and its
    centre lies half a cap height above the baseline."""
    size = code_font_size(code)
    ink_mm = (text_width(code, font=CODE_FONT, size=size) - 0.12 * size) / MM
    scale = (box.right - box.left) / ink_mm
    cap_mm = _CAP_HEIGHT * size / MM
    centre_x = CARD.code_x + (0.06 * size / MM) + ink_mm / 2
    centre_y = CARD.code_baseline - cap_mm / 2
    middle = ((box.left + box.right) / 2, (box.top + box.bottom) / 2)
    return np.array(
        [
            [scale, 0, middle[0] - scale * centre_x],
            [0, scale, middle[1] - scale * centre_y],
            [0, 0, 1],
        ]
    )


# --- tesseract ------------------------------------------------------------------------------


class _OcrFailed(Exception):
    pass


def _tesseract(image: Image.Image, *arguments: str) -> str:
    """Runs tesseract on one image (PNG on stdin), on one thread: the caller decides about
    parallelism, and tesseract's OpenMP threads only cost time on a busy machine."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise OcrUnavailable(
            "tesseract is not installed (not on PATH); install tesseract 5 with German "
            "language data, e.g. apt-get install tesseract-ocr tesseract-ocr-deu"
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        result = subprocess.run(
            [binary, "stdin", "stdout", *arguments],
            input=buffer.getvalue(),
            capture_output=True,
            env=environment,
            timeout=OCR_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise _OcrFailed(f"tesseract took longer than {OCR_TIMEOUT_SECONDS} s") from error
    errors = result.stderr.decode("utf-8", "replace")
    if "Failed loading language" in errors or "Error opening data file" in errors:
        raise OcrUnavailable(f"tesseract lacks language data: {errors.strip()}")
    if result.returncode != 0:
        raise _OcrFailed(f"tesseract exited with {result.returncode}: {errors.strip()[:200]}")
    return result.stdout.decode("utf-8", "replace")
