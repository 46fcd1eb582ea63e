"""Text classifiers: quality on real data, messages classified per second, model load time.

    .venv/bin/python bench/classify.py [--holdout 0.2] [--messages 20000]
                                       [--models default,ensemble,embeddings]

Trains every recipe of `--models` through `classify.services.train_version()` (the code
behind `casework classify train --model NAME`) on a fresh SQLite database in the bench cache
directory (`embeddings` is skipped, with a note, where its optional package is missing):

- Banking77 (`../shared/data/banking77/train.csv`, English, 77 intents): accuracy and
  macro-F1 on a stratified held-out split (`--holdout`) of the training file.
- GermEval 2017 sentiment (`../shared/data/germeval2017/*.jsonl`, German, negative /
  neutral / positive): micro- and macro-F1 on a stratified held-out split of dev + test_syn,
  with the majority-class baseline of the same split; and trained on dev only, evaluated on
  test_syn. Research use only: the examples stay in the benchmark's own database, which is
  deleted at the end unless --keep.
- Speed, pinned to one CPU: `classify_text()` one message at a time and `classify_texts()`
  in batches of 100, on the held-out Banking77 texts (short) and GermEval texts (longer),
  with the default model (and the other recipes on Banking77); the model's load time from
  the database (checksum and parsing included); peak memory.
- The built-in language detector on both data sets (every Banking77 text is English,
  every GermEval text German).

Targets: Banking77 accuracy ≥ 0.92 and GermEval micro-F1 ≥ 0.76 for the best recipe,
≥ 2,000 messages/s on one core and model load ≤ 1 s for the default.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# One core means one BLAS thread too; set before NumPy is imported.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import measure  # noqa: E402
import report  # noqa: E402

REPO_DIR = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_DIR.parent / "shared" / "data"
CACHE_DIR = Path(os.environ.get("CASEWORK_BENCH_DIR", "/tmp/casework-bench"))
WORK_DIR = CACHE_DIR / "classify"

TARGET_BANKING_ACCURACY = 0.92
TARGET_GERMEVAL_MICRO_F1 = 0.76
TARGET_MESSAGES_PER_SECOND = 2000.0
TARGET_LOAD_SECONDS = 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--banking77", type=Path, default=SHARED_DATA / "banking77" / "train.csv")
    parser.add_argument("--germeval", type=Path, default=SHARED_DATA / "germeval2017")
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--messages", type=int, default=20_000, help="single-message calls")
    parser.add_argument(
        "--models",
        default="default,ensemble,embeddings",
        help="the recipes to train and compare (comma-separated; default first)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    # Internal: the speed phase runs in a fresh process, so its peak memory is a server's.
    parser.add_argument("--speed-child", type=Path, default=None, help=argparse.SUPPRESS)
    measure.add_quiet_wait_option(parser)
    return parser.parse_args()


def setup_django(*, fresh: bool) -> None:
    if fresh:
        if WORK_DIR.exists():
            shutil.rmtree(WORK_DIR)
        WORK_DIR.mkdir(parents=True)
    os.environ["CASEWORK_DATA_DIR"] = str(WORK_DIR)
    os.environ["CASEWORK_DATABASE_URL"] = f"sqlite:///{WORK_DIR / 'classify.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "casework.config.settings.demo"
    os.environ.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    if fresh:
        call_command("migrate", verbosity=0)


def germeval_examples(folder: Path, split: str) -> list[Any]:
    from casework.classify.sources import Example

    with (folder / f"{split}.jsonl").open(encoding="utf-8") as handle:
        return [
            Example(item["text"], item["sentiment"], "de")
            for item in (json.loads(line) for line in handle)
        ]


def vm_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def train(task: str, source: Any, holdout: float, kind: str = "default") -> tuple[Any, float]:
    from casework.classify import services
    from casework.kernel.actors import Actor

    started = time.perf_counter()
    version = services.train_version(
        task,
        source,
        actor=Actor.system("bench"),
        trained_by="bench/classify.py",
        kind=kind,
        holdout_fraction=holdout,
        activate=True,
    )
    return version, time.perf_counter() - started


def task_name(base: str, kind: str) -> str:
    """The benchmark's task for a recipe: the default keeps the plain name."""
    return base if kind == "default" else f"{base}_{kind}"


def recipes(args: argparse.Namespace) -> list[str]:
    from casework.classify import embeddings
    from casework.classify.linear import MODEL_KINDS

    chosen = []
    for kind in (name.strip() for name in args.models.split(",") if name.strip()):
        if kind not in MODEL_KINDS:
            raise SystemExit(f"unknown recipe {kind}; known: {', '.join(MODEL_KINDS)}")
        embedding = MODEL_KINDS[kind].embedding
        if embedding and not embeddings.is_available(embedding):
            print(f"note: recipe {kind} skipped: pip install 'casework[embeddings]' for it")
            continue
        chosen.append(kind)
    if "default" not in chosen:
        chosen.insert(0, "default")  # the speed phase measures it
    return chosen


def stored_texts(task: str, *, held_out_only: bool) -> list[str]:
    """The texts a benchmark version was trained on (all, or only the held-out ones)."""
    from casework.classify.models import ModelVersion
    from casework.classify.training import TrainingSet

    version = ModelVersion.objects.get(task__name=task, is_active=True)
    stored = TrainingSet.from_bytes(bytes(version.training_data))
    return [
        example.text
        for example, held in zip(stored.examples, stored.holdout, strict=True)
        if held or not held_out_only
    ]


def speed_child(args: argparse.Namespace) -> int:
    setup_django(fresh=False)
    args.kinds = json.loads(os.environ["CASEWORK_BENCH_KINDS"])
    texts = {
        "banking77": stored_texts("bench_topic", held_out_only=True),
        "germeval": stored_texts("bench_sentiment", held_out_only=True),
        "banking77_all": stored_texts("bench_topic", held_out_only=False),
        "germeval_all": stored_texts("bench_sentiment", held_out_only=False),
    }
    figures = {"speed": speed(args, texts), "language": languages(texts)}
    args.speed_child.write_text(json.dumps(figures))
    return 0


def quality(args: argparse.Namespace, kinds: list[str]) -> dict[str, Any]:
    from casework.classify import services
    from casework.classify.sources import LabelledSource, read_labelled_csv

    banking = read_labelled_csv(args.banking77, text_column="text", label_column="category")
    dev = germeval_examples(args.germeval, "dev")
    test_syn = germeval_examples(args.germeval, "test_syn")
    both = LabelledSource("germeval dev + test_syn", "", dev + test_syn)

    found: dict[str, Any] = {"banking77": {}, "germeval_sentiment": {}, "_model_bytes": {}}
    rows, dev_rows = [], []
    for kind in kinds:
        banking_version, banking_seconds = train(
            task_name("bench_topic", kind), banking, args.holdout, kind
        )
        sentiment_version, sentiment_seconds = train(
            task_name("bench_sentiment", kind), both, args.holdout, kind
        )
        dev_task = task_name("bench_sentiment_dev", kind)
        train(dev_task, LabelledSource("germeval dev", "", dev), 0.2, kind)
        on_test_syn = services.evaluate_version(dev_task, test_syn).scores
        for name, version, seconds in (
            ("Banking77 (EN, 77 intents)", banking_version, banking_seconds),
            ("GermEval 2017 sentiment (DE, 3)", sentiment_version, sentiment_seconds),
        ):
            s = version.scores
            rows.append(
                (
                    name,
                    kind,
                    version.source_rows,
                    s["split"]["holdout_rows"],
                    s["accuracy"],
                    s["macro_f1"],
                    s["majority_baseline"]["accuracy"],
                    s["majority_baseline"]["macro_f1"],
                    s["calibration"]["coverage"],
                    s["calibration"]["accuracy_when_confident"],
                    s["calibration"]["expected_calibration_error"],
                    seconds,
                )
            )
        dev_rows.append(
            (
                kind,
                on_test_syn["n"],
                on_test_syn["micro_f1"],
                on_test_syn["macro_f1"],
                on_test_syn["majority_baseline"]["micro_f1"],
                on_test_syn["majority_baseline"]["macro_f1"],
            )
        )
        found["banking77"][kind] = {
            "version": banking_version.scores,
            "train_seconds": banking_seconds,
        }
        found["germeval_sentiment"][kind] = {
            "version": sentiment_version.scores,
            "train_seconds": sentiment_seconds,
            "dev_to_test_syn": on_test_syn,
        }
        found["_model_bytes"][kind] = len(bytes(banking_version.model_data))
    report.print_table(
        f"Held-out split ({args.holdout:.0%} of every label), by recipe",
        [
            "data set",
            "recipe",
            "rows",
            "held out",
            "accuracy = micro-F1",
            "macro-F1",
            "majority acc",
            "majority macro-F1",
            "confident share",
            "acc. when confident",
            "ECE",
            "train s",
        ],
        rows,
    )
    report.print_table(
        "GermEval 2017: trained on dev (held-out 20 % for calibration), evaluated on test_syn",
        ["recipe", "n", "micro-F1", "macro-F1", "majority micro-F1", "majority macro-F1"],
        dev_rows,
    )
    return found


def speed(args: argparse.Namespace, texts: dict[str, list[str]]) -> dict[str, Any]:
    from casework.classify.models import ModelVersion
    from casework.classify.prediction import (
        classify_text,
        classify_texts,
        forget_cached_models,
        load_model,
    )

    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    measure.wait_for_quiet(args.quiet_wait)

    loads = []
    for _ in range(5):
        version = ModelVersion.objects.get(task__name="bench_topic", is_active=True)
        started = time.perf_counter()
        load_model(version)
        loads.append(time.perf_counter() - started)
    del version
    # The other recipes once each: the first load of an embeddings model reads the
    # embedding's table and tokenizer too.
    other_loads = {}
    for kind in args.kinds:
        if kind == "default":
            continue
        version = ModelVersion.objects.get(task__name=f"bench_topic_{kind}", is_active=True)
        started = time.perf_counter()
        load_model(version)
        other_loads[kind] = time.perf_counter() - started
    forget_cached_models()
    rss_before = vm_kib("VmRSS")
    started = time.perf_counter()
    classify_text("bench_topic", "warm up")
    first_call = time.perf_counter() - started
    rss_model = vm_kib("VmRSS") - rss_before

    results: dict[str, Any] = {
        "load_seconds_median": statistics.median(loads),
        "load_seconds_max": max(loads),
        "first_call_seconds": first_call,
        "rss_growth_first_model_kib": rss_model,
        "first_load_seconds_other_recipes": other_loads,
    }
    rows = []
    phases = [
        ("bench_topic", "Banking77 held-out (short)", texts["banking77"]),
        ("bench_sentiment", "GermEval held-out (longer)", texts["germeval"]),
    ]
    phases += [
        (task_name("bench_topic", kind), f"Banking77, recipe {kind}", texts["banking77"])
        for kind in args.kinds
        if kind != "default"
    ]
    for task, name, pool in phases:
        classify_texts(task, pool[:50])
        mean_chars = statistics.fmean(len(text) for text in pool)
        with measure.MachineLoad() as load:
            latencies = []
            for i in range(args.messages):
                text = pool[i % len(pool)]
                began = time.perf_counter()
                classify_text(task, text)
                latencies.append(time.perf_counter() - began)
        single = args.messages / sum(latencies)
        batch_texts = [pool[i % len(pool)] for i in range(args.messages)]
        began = time.perf_counter()
        for start in range(0, len(batch_texts), 100):
            classify_texts(task, batch_texts[start : start + 100])
        batch = len(batch_texts) / (time.perf_counter() - began)
        latency = measure.Latency.of(latencies)
        rows.append((name, round(mean_chars), single, batch, latency.p50, latency.p99))
        results[task] = {
            "mean_chars": mean_chars,
            "single_per_second": single,
            "batch_per_second": batch,
            "latency": latency.as_dict(),
            "machine_load": load.figures,
        }
        print(f"{name}: {load.describe()}")
    report.print_table(
        f"Speed on one CPU (cpu {cpu}), {args.messages:,} messages each",
        [
            "texts",
            "mean chars",
            "classify_text /s (mean)",
            "classify_texts(100) /s",
            "p50 ms",
            "p99 ms",
        ],
        rows,
    )
    results["peak_rss_mib"] = vm_kib("VmHWM") / 1024
    report.print_table(
        "Model loading and memory",
        ["figure", "value"],
        [
            ("load_model() median, 5 loads (s)", results["load_seconds_median"]),
            ("load_model() max (s)", results["load_seconds_max"]),
            ("first classify_text(), query + load (s)", first_call),
            ("RSS growth for the first model (MiB)", rss_model / 1024),
            *((f"first load_model(), recipe {k} (s)", v) for k, v in other_loads.items()),
            ("peak RSS of the classifying process (MiB)", results["peak_rss_mib"]),
        ],
    )
    return results


def languages(texts: dict[str, list[str]]) -> dict[str, Any]:
    from collections import Counter

    from casework.classify.prediction import classify_texts

    figures = {}
    rows = []
    for name, expected, pool in (
        ("Banking77 (all EN)", "en", texts["banking77_all"]),
        ("GermEval (all DE)", "de", texts["germeval_all"]),
    ):
        started = time.perf_counter()
        answers = classify_texts("language", pool)
        seconds = time.perf_counter() - started
        counts = Counter(answer.label for answer in answers)
        right = counts[expected] / len(pool)
        confident = sum(1 for a in answers if a.is_confident and a.label == expected) / len(pool)
        rows.append(
            (name, len(pool), right, confident, counts["de"], counts["en"], counts["other"])
        )
        figures[expected] = {
            "n": len(pool),
            "accuracy": right,
            "confident_and_right": confident,
            "counts": dict(counts),
            "per_second": len(pool) / seconds,
        }
    report.print_table(
        "Built-in language detector",
        ["texts", "n", "right", "right and confident", "de", "en", "other"],
        rows,
    )
    return figures


def main() -> int:
    args = parse_args()
    if args.speed_child is not None:
        return speed_child(args)
    facts = report.machine_facts()
    report.print_header(
        "classify: quality of the recipes, speed and load time",
        facts,
        {"data": f"{args.banking77}; {args.germeval}", "holdout": f"{args.holdout:.0%}"},
    )
    setup_django(fresh=True)
    kinds = recipes(args)
    found = quality(args, kinds)
    model_bytes = found.pop("_model_bytes")
    figures_path = WORK_DIR / "speed.json"
    subprocess.run(
        [sys.executable, __file__, "--speed-child", str(figures_path),
         "--messages", str(args.messages), "--quiet-wait", str(args.quiet_wait)],
        check=True,
        env={**os.environ, "CASEWORK_BENCH_KINDS": json.dumps(kinds)},
    )  # fmt: skip
    child = json.loads(figures_path.read_text())
    speed_figures, language_figures = child["speed"], child["language"]

    def best(data: str, figure: str) -> tuple[str, float]:
        scores = {kind: found[data][kind]["version"][figure] for kind in kinds}
        kind = max(scores, key=scores.__getitem__)
        return kind, scores[kind]

    banking_kind, banking_best = best("banking77", "accuracy")
    germeval_kind, germeval_best = best("germeval_sentiment", "micro_f1")
    germeval_default = found["germeval_sentiment"]["default"]["version"]
    print(
        f"\nBanking77: default {found['banking77']['default']['version']['accuracy']:.4f}, "
        f"best {banking_best:.4f} ({banking_kind}). GermEval micro-F1: default "
        f"{germeval_default['micro_f1']:.4f}, best {germeval_best:.4f} ({germeval_kind}), "
        f"majority class {germeval_default['majority_baseline']['micro_f1']:.4f}."
    )
    checks = [
        report.Check(
            f"Banking77 held-out accuracy, best recipe ({banking_kind})",
            banking_best,
            TARGET_BANKING_ACCURACY,
            "",
            at_most=False,
        ),
        report.Check(
            f"GermEval held-out micro-F1, best recipe ({germeval_kind})",
            germeval_best,
            TARGET_GERMEVAL_MICRO_F1,
            "",
            at_most=False,
        ),
        report.Check(
            "classify_text, Banking77, one core, default recipe (mean)",
            speed_figures["bench_topic"]["single_per_second"],
            TARGET_MESSAGES_PER_SECOND,
            "msg/s",
            at_most=False,
        ),
        report.Check(
            "model load, default recipe (max of 5)",
            speed_figures["load_seconds_max"],
            TARGET_LOAD_SECONDS,
            "s",
        ),
    ]
    report.print_checks(checks)
    for kind, size in model_bytes.items():
        print(f"Banking77 model file, recipe {kind}: {size / 2**20:.1f} MiB")
    report.write_results(
        "classify",
        "sqlite",
        {
            "facts": facts,
            "quality": found,
            "speed": speed_figures,
            "language": language_figures,
            "model_bytes": model_bytes,
            "checks": [check.as_dict() for check in checks],
        },
    )
    if not args.keep:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    csv.field_size_limit(2_000_000)
    sys.exit(main())
