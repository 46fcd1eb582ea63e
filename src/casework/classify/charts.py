"""The confusion matrix as an SVG picture, written by hand: no plotting library needed.

Pure: no Django. Rows are the true labels, columns the predicted ones; a cell's shade is its
share of the row (the recall of that pair), so small and large classes read alike; the
count is written in every non-empty cell.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from casework.classify.metrics import ConfusionMatrix

_FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def confusion_svg(matrix: ConfusionMatrix, *, title: str = "") -> str:
    n = len(matrix.labels)
    cell = 28 if n <= 12 else 16 if n <= 40 else 11
    font_size = max(6, cell // 2 - 1)
    digits = len(str(max((max(row, default=0) for row in matrix.counts), default=0)))
    if n <= 12:
        cell = max(cell, 10 + digits * 8)  # room for the largest count
    label_width = 8 + int(
        0.62 * font_size * max((len(label) for label in matrix.labels), default=1)
    )
    left = label_width + 24
    top = label_width + 40
    size = n * cell
    width = max(left + size + 20, 16 + int(7.5 * len(title)))
    height = top + size + 20

    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {_FONT} font-size='{font_size}'>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
    ]
    if title:
        parts.append(f"<text x='8' y='18' font-size='14'>{escape(title)}</text>")
    parts.append(
        f"<text x='{left + size / 2:.0f}' y='34' text-anchor='middle' font-size='11'>"
        "predicted</text>"
    )
    parts.append(
        f"<text x='12' y='{top + size / 2:.0f}' font-size='11' text-anchor='middle' "
        f"transform='rotate(-90 12 {top + size / 2:.0f})'>true</text>"
    )
    for i, label in enumerate(matrix.labels):
        y = top + i * cell + cell / 2 + font_size / 3
        parts.append(f"<text x='{left - 4}' y='{y:.1f}' text-anchor='end'>{escape(label)}</text>")
        x = left + i * cell + cell / 2 + font_size / 3
        parts.append(
            f"<text x='{x:.1f}' y='{top - 4}' transform='rotate(-90 {x:.1f} {top - 4})'>"
            f"{escape(label)}</text>"
        )
    for i, row in enumerate(matrix.counts):
        total = sum(row)
        for j, count in enumerate(row):
            share = count / total if total else 0.0
            x, y = left + j * cell, top + i * cell
            parts.append(
                f"<rect x='{x}' y='{y}' width='{cell}' height='{cell}' "
                f"fill={quoteattr(_shade(share, diagonal=i == j))} stroke='#dddddd' "
                f"stroke-width='0.5'><title>{escape(matrix.labels[i])} → "
                f"{escape(matrix.labels[j])}: {count}</title></rect>"
            )
            if count and cell >= 11:
                colour = "white" if share > 0.55 else "black"
                parts.append(
                    f"<text x='{x + cell / 2:.1f}' y='{y + cell / 2 + font_size / 3:.1f}' "
                    f"text-anchor='middle' fill='{colour}' font-size='{max(5, font_size - 1)}'>"
                    f"{count}</text>"
                )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _shade(share: float, *, diagonal: bool) -> str:
    """Blue for right answers, red for confusions; white for none."""
    base = (31, 94, 168) if diagonal else (196, 48, 43)
    r, g, b = (round(255 - (255 - channel) * share) for channel in base)
    return f"#{r:02x}{g:02x}{b:02x}"
