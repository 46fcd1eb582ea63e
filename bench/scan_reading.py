"""Reading scanned response cards: seconds per page on one core, and what was read right.

    .venv/bin/python bench/scan_reading.py [--pages 20] [--damaged 3] [--baseline 5]
                                           [--seed 1] [--quiet-wait 120]

Makes `--pages` retention letters (German, random response codes), fills in their cards as
customers do (a cross or a check mark in one box, sometimes both or none; handwritten-looking
remarks on half of them), and "prints and scans" each page at 300 dpi with the tests' helper
(`tests/retention/printing.py`): rotated by up to ±3° (one in ten upside down, one in ten
sideways), a little perspective, blur, sensor noise and dust, as grey PNG (every fourth as
JPEG). Making the scans is not timed.

Then, pinned to one CPU with OMP_THREAD_LIMIT=1 (tesseract included), it times
`retention.scanning.read_scan()` per page (decoding the file included) and checks each page:
the QR text, the ticks, and whether remarks were found exactly when some were written (with
the share of the written words that OCR got back, for information). Baseline in the same
run: one plain full-page `tesseract -l deu --psm 3` of the same files (`--baseline` pages),
what reading a page without the QR code's layout would cost. `--damaged` pages more have
their QR code painted over, to time the OCR fallback (typed code by full-page OCR).
`--resolutions 100,75,50` also scans `--per-resolution` cards (default 3) at each of these
resolutions and counts what was still read right: the limits of QR, ticks and remarks.

Target: ≤ 1.5 s per page (p95) on one core.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# One core means one thread everywhere; set before NumPy is imported and inherited by tesseract.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ["OMP_THREAD_LIMIT"] = "1"

REPO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_DIR))  # the printing helper lives in tests/retention/

import measure  # noqa: E402
import report  # noqa: E402

TARGET_SECONDS_PER_PAGE = 1.5
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no O/0, I/1
REMARKS = (
    "Bitte rufen Sie mich an",
    "Ich möchte lieber einen Gutschein über 50 Euro",
    "Zu teuer, ich kündige zum Monatsende",
    "Gerne, aber bitte ab März",
    "Rückruf bitte abends nach 18 Uhr",
    "Danke für das Angebot",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="filled-in cards to read")
    parser.add_argument("--damaged", type=int, default=3, help="pages with a damaged QR code")
    parser.add_argument("--baseline", type=int, default=5, help="pages for plain tesseract")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--resolutions", default="", help="comma-separated dpi values for the resolution sweep"
    )
    parser.add_argument("--per-resolution", type=int, default=3)
    measure.add_quiet_wait_option(parser)
    return parser.parse_args()


@dataclass(frozen=True)
class Sample:
    data: bytes
    image_format: str
    qr_text: str
    code: str
    ticked: frozenset[str]
    remarks: str
    rotate: float


def make_samples(
    count: int, *, seed: int, damaged: bool = False, dpi: int = 300, filled: bool = False
) -> list[Sample]:
    """`count` scanned letters; `filled`: every card has one box ticked and remarks."""
    from tests.retention.printing import (
        Scanner,
        damage_qr,
        encode,
        render_page,
        scan,
        tick,
        write_remarks,
    )

    from casework.retention.letters import CHOICES, Letter, ResponseCard, render_letter

    rng = random.Random(seed)
    samples = []
    for index in range(count):
        code = "-".join("".join(rng.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
        qr_text = f"https://casework.example/r/{code.replace('-', '')}"
        letter = Letter(
            sender_lines=("Stadtwerke Süderbrück GmbH", "Hauptstraße 1", "10115 Berlin"),
            recipient_lines=(f"Kundin Nr. {index + 1}", "Blumenstraße 12", "80331 München"),
            place_and_date="Berlin, 26. November 2026",
            subject="Ihr persönliches Angebot: 12 Monate Treuebonus",
            salutation="Sehr geehrte Kundin, sehr geehrter Kunde,",
            paragraphs=(
                "vielen Dank für Ihre langjährige Treue. Ihr Vertrag läuft am 31. Januar "
                "2027 aus. Wir bieten Ihnen einen Treuebonus von 120 € für zwölf Monate an.",
                "Kreuzen Sie unten an, ob Sie das Angebot annehmen, und senden Sie die "
                "Karte im beiliegenden Umschlag portofrei zurück.",
            ),
            closing=("Mit freundlichen Grüßen", "Ihr Service-Team"),
            card=ResponseCard(
                code=code,
                qr_text=qr_text,
                title="Ihre Antwort",
                choice_labels=("Ja, ich nehme das Angebot an", "Nein, danke"),
                remarks_label="Anmerkungen",
                code_label="Ihr Antwortcode",
            ),
        )
        page = render_page(render_letter(letter))
        draw = rng.random()
        ticked: frozenset[str] = (
            frozenset({"accept"})
            if draw < 0.45
            else frozenset({"decline"})
            if draw < 0.8
            else frozenset()
            if draw < 0.95
            else frozenset({"accept", "decline"})
        )
        remarks = rng.choice(REMARKS) if rng.random() < 0.5 else ""
        if filled:
            ticked = frozenset({CHOICES[index % 2]})
            remarks = REMARKS[index % len(REMARKS)]
        for choice in sorted(ticked):
            style = rng.choice(("x", "check"))
            page = tick(page, choice, style=style, seed=index)
        if remarks:
            page = write_remarks(page, remarks, seed=index)
        if damaged:
            page = damage_qr(page)
        turn = rng.random()
        rotate = rng.uniform(-3, 3) + (180 if turn < 0.1 else 90 if turn < 0.2 else 0)
        scanner = Scanner(
            rotate=rotate,
            perspective=rng.uniform(0, 0.008),
            blur=rng.uniform(0, 1.0),
            noise=rng.uniform(3, 12),
            speckles=rng.choice((0.0, 0.0005, 0.002)) if dpi == 300 else 0.0,
            dpi=dpi,
            seed=index,
        )
        image_format = "jpeg" if index % 4 == 3 and dpi == 300 else "png"
        data = encode(scan(page, scanner), image_format, dpi=dpi, quality=70)
        samples.append(Sample(data, image_format, qr_text, code, ticked, remarks, rotate))
    return samples


def read_all(samples: list[Sample], *, expect_code: bool = False) -> dict[str, Any]:
    from casework.retention.scanning import read_scan

    read_scan(samples[0].data)  # warm-up: libraries, tesseract's model in the page cache
    seconds, rows, right = [], [], 0
    word_recall = []
    for index, sample in enumerate(samples, start=1):
        started = time.perf_counter()
        pages = read_scan(sample.data)
        elapsed = time.perf_counter() - started
        seconds.append(elapsed)
        cards = pages[0].cards if pages else ()
        card = cards[0] if len(cards) == 1 else None
        expected_text = sample.code if expect_code else sample.qr_text
        code_ok = card is not None and card.text == expected_text
        ticks_ok = card is not None and card.ticked == sample.ticked
        remarks_ok = card is not None and bool(card.remarks) == bool(sample.remarks)
        if card is not None and sample.remarks:
            written = sample.remarks.lower().replace(",", "").split()
            got = card.remarks.lower()
            word_recall.append(sum(word in got for word in written) / len(written))
        right += code_ok and ticks_ok and remarks_ok
        rows.append(
            (
                f"{index}",
                sample.image_format,
                f"{sample.rotate:+.1f}°",
                elapsed,
                "ok" if code_ok else "WRONG",
                "ok" if ticks_ok else "WRONG",
                "ok" if remarks_ok else "WRONG",
                card.source if card else "-",
                "; ".join(pages[0].problems)[:60] if pages else "",
            )
        )
    return {
        "seconds": seconds,
        "rows": rows,
        "right": right,
        "word_recall": statistics.fmean(word_recall) if word_recall else float("nan"),
    }


def resolution_sweep(resolutions: list[int], per_resolution: int, seed: int) -> list[tuple]:
    """What is still read right at each resolution: the QR text, the ticks, the remarks
    (found when written, and at least half of the written words recognised)."""
    from casework.retention.scanning import read_scan

    rows = []
    for dpi in resolutions:
        samples = make_samples(per_resolution, seed=seed + dpi, dpi=dpi, filled=True)
        qr = ticks = remarks = 0
        for sample in samples:
            pages = read_scan(sample.data)
            card = pages[0].cards[0] if pages and len(pages[0].cards) == 1 else None
            if card is None or card.text != sample.qr_text:
                continue
            qr += 1
            ticks += card.ticked == sample.ticked
            written = sample.remarks.lower().replace(",", "").split()
            found = sum(word in card.remarks.lower() for word in written)
            remarks += (not written and not card.remarks) or (
                bool(written) and found >= len(written) / 2
            )
        count = len(samples)
        rows.append((f"{dpi} dpi", f"{qr}/{count}", f"{ticks}/{count}", f"{remarks}/{count}"))
    return rows


def tesseract_baseline(samples: list[Sample]) -> list[float]:
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    seconds = []
    for sample in samples:
        started = time.perf_counter()
        subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", "deu", "--psm", "3"],
            input=sample.data,
            capture_output=True,
            env=environment,
            check=True,
        )
        seconds.append(time.perf_counter() - started)
    return seconds


def summary(seconds: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(seconds),
        "p95": measure.percentile(seconds, 95),
        "max": max(seconds),
    }


def main() -> int:
    args = parse_args()
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    facts = report.machine_facts()
    report.print_header(
        "scan_reading: response cards read back from 300 dpi scans, one core",
        facts,
        {
            "pages": f"{args.pages} filled-in cards + {args.damaged} with a damaged QR code",
            "pinned": f"CPU {cpu}, OMP_THREAD_LIMIT=1",
        },
    )
    started = time.perf_counter()
    samples = make_samples(args.pages, seed=args.seed)
    broken = make_samples(args.damaged, seed=args.seed + 1000, damaged=True) if args.damaged else []
    print(f"scans made in {time.perf_counter() - started:.1f} s (not timed)")

    if args.quiet_wait > 0:
        measure.wait_for_quiet(args.quiet_wait)
    normal = read_all(samples)
    fallback = read_all(broken, expect_code=True) if broken else None
    baseline = tesseract_baseline(samples[: args.baseline]) if args.baseline else []

    header = ["page", "file", "turn", "seconds", "code", "ticks", "remarks", "via", "problems"]
    report.print_table("read_scan, per page", header, normal["rows"])
    if fallback is not None:
        report.print_table("read_scan, QR code painted over", header, fallback["rows"])

    timing = summary(normal["seconds"])
    rows = [
        ("read_scan, QR readable", *timing.values(), f"{normal['right']}/{len(samples)}"),
    ]
    if fallback is not None:
        rows.append(
            (
                "read_scan, QR damaged (OCR fallback)",
                *summary(fallback["seconds"]).values(),
                f"{fallback['right']}/{len(broken)}",
            )
        )
    if baseline:
        rows.append(("plain tesseract, whole page", *summary(baseline).values(), "-"))
    report.print_table("Seconds per page", ["", "median", "p95", "max", "all read right"], rows)
    print(
        f"\nremarks: {normal['word_recall']:.0%} of the written words found in the OCR text "
        "(pages with remarks)"
    )
    if baseline:
        ratio = statistics.median(baseline) / timing["median"]
        print(f"plain full-page tesseract ÷ read_scan (medians): {ratio:.1f}×")

    checks = [
        report.Check("read_scan per page, p95", timing["p95"], TARGET_SECONDS_PER_PAGE, "s"),
        report.Check(
            "pages read entirely right (code, ticks, remarks found)",
            normal["right"] / len(samples),
            1.0,
            "",
            at_most=False,
        ),
    ]
    sweep = []
    if args.resolutions:
        resolutions = [int(value) for value in args.resolutions.split(",") if value.strip()]
        sweep = resolution_sweep(resolutions, args.per_resolution, args.seed)
        report.print_table(
            "Lower resolutions (scans made and read here, not timed)",
            ["scan", "QR read", "ticks right", "remarks right"],
            sweep,
        )

    report.print_checks(checks)
    report.write_results(
        "scan_reading",
        "cpu1",
        {
            "facts": facts,
            "args": vars(args),
            "read_scan": {**timing, "right": normal["right"], "pages": len(samples)},
            "read_scan_damaged": (
                {**summary(fallback["seconds"]), "right": fallback["right"]} if fallback else None
            ),
            "tesseract_full_page": summary(baseline) if baseline else None,
            "remarks_word_recall": normal["word_recall"],
            "resolution_sweep": sweep,
            "checks": [check.as_dict() for check in checks],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
