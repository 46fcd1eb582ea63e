"""Knowledge search: latency of `search_articles()` over N articles, against a naive scan.

    .venv/bin/python bench/knowledge_search.py [--articles 5000] [--queries 300]
                                               [--database sqlite|postgresql] [--keep]

On a fresh database (SQLite file in the bench directory, or the PostgreSQL database
`casework_bench_knowledge` on 127.0.0.1, dropped and created): migrations, then N articles
(half German, half English, 10 % internal) generated from the demo's knowledge base with
variations — each a demo text with its paragraphs shuffled, a numbered title and words from
the other demo texts mixed in — written in bulk with their versions and search documents
(the database's triggers build the index, as in the product). Then a few hundred realistic
queries (short questions, keywords, whole customer e-mails, both languages, some with the
language or public filter) run through `search_articles(limit=5)`, and the same queries
through a naive baseline: `icontains` on title and text of the current version for any of
the words (what one would write without a search engine), ordered by id, limit 5.
Printed: index build time, median / p95 / max latency of both, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
CACHE_DIR = Path(os.environ.get("CASEWORK_BENCH_DIR", "/tmp/casework-bench"))
WORK_DIR = CACHE_DIR / "knowledge"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_NAME = "casework_bench_knowledge"

QUESTIONS = [
    ("Was kostet telefonieren im Ausland?", "de"),
    ("Option Welt Japan Praktikum", "de"),
    ("Tarif wechseln", None),
    ("Vertrag kündigen Frist", "de"),
    ("Kündigung", None),
    ("neue Adresse Umzug", "de"),
    ("eSIM QR-Code", None),
    ("SIM verloren gesperrt", "de"),
    ("Rechnung doppelt abgebucht", "de"),
    ("Zahlungsart Lastschrift ändern", "de"),
    ("IBAN ändern", None),
    ("Werk anmelden ISWC", "de"),
    ("Abrechnung Aufführung fehlt", "de"),
    ("Mitglied werden Kosten", "de"),
    ("Bankverbindung Ausschüttung", "de"),
    ("roaming abroad prices", "en"),
    ("cancel my contract", "en"),
    ("change address moving house", "en"),
    ("replacement SIM card", "en"),
    ("invoice charged twice", "en"),
    ("direct debit payment method", "en"),
    ("register a song", "en"),
    ("royalty statement missing performance", "en"),
    ("become a member fee", "en"),
    ("bank details IBAN", "en"),
    ("Gebuehren Strasse", "de"),
    ("Verträge", "de"),
]
MESSAGES = [
    "Sehr geehrte Damen und Herren, ich fliege nächste Woche für ein halbes Jahr nach Japan "
    "und möchte wissen, was Anrufe und mobiles Internet dort kosten. Gibt es eine günstige "
    "Option? Mit freundlichen Grüßen",
    "Hallo, auf meiner letzten Rechnung wurde der Betrag doppelt abgebucht. Bitte prüfen Sie "
    "das und erstatten Sie mir das Geld. Danke",
    "Guten Tag, ich ziehe zum 1. des Monats um. Meine neue Adresse ist Hauptstraße 5 in "
    "Münster. Bitte ändern Sie das in meinem Vertrag.",
    "Dear team, I would like to cancel my contract at the end of the term. Please confirm "
    "the date. Kind regards",
    "Hello, my royalty statement for the third quarter is missing two concert performances "
    "in Hamburg. What should I do?",
    "Liebe GEMA-Kollegen, meine Bankverbindung hat sich geändert, die neue IBAN lautet "
    "DE12 3456. Gilt das schon für die nächste Ausschüttung?",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


def setup_django(database: str) -> None:
    if WORK_DIR.exists():
        shutil.rmtree(WORK_DIR)
    WORK_DIR.mkdir(parents=True)
    os.environ["CASEWORK_DATA_DIR"] = str(WORK_DIR)
    if database == "postgresql":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
            server.execute(f"CREATE DATABASE {PG_NAME}")
        os.environ["CASEWORK_DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}"
    else:
        os.environ["CASEWORK_DATABASE_URL"] = f"sqlite:///{WORK_DIR / 'knowledge.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "casework.config.settings.demo"
    os.environ.setdefault("CASEWORK_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(REPO_DIR / "src"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def generate(count: int, rnd: random.Random) -> float:
    """N articles with versions and search documents, in bulk; returns seconds taken."""
    from django.db import transaction

    from casework.demo.knowledge import ARTICLES
    from casework.knowledge.models import Article, ArticleVersion, SearchDocument, Visibility
    from casework.knowledge.rendering import plain_text

    bases = [
        (code, language, content)
        for code, _category, _visibility, texts in ARTICLES
        for language, content in texts.items()
    ]
    vocabulary = {
        language: sorted(
            {word for _, lang, c in bases if lang == language for word in c.body.split()}
        )
        for language in ("de", "en")
    }
    started = time.perf_counter()
    with transaction.atomic():
        articles = []
        for n in range(count):
            code, language, _ = bases[n % len(bases)]
            visibility = Visibility.INTERNAL if n % 10 == 9 else Visibility.PUBLIC
            articles.append(Article(code=f"{code}-{n}", language=language, visibility=visibility))
        Article.objects.bulk_create(articles, batch_size=500)
        articles = list(Article.objects.order_by("pk"))
        versions = []
        for n, article in enumerate(articles):
            _, language, content = bases[n % len(bases)]
            paragraphs = content.body.split("\n\n")
            rnd.shuffle(paragraphs)
            extra = " ".join(rnd.sample(vocabulary[language], 25))
            versions.append(
                ArticleVersion(
                    article=article,
                    number=1,
                    title=f"{content.title} {n}",
                    summary=content.summary,
                    keywords=content.keywords,
                    body="\n\n".join([*paragraphs, extra]),
                    published_by="bench",
                )
            )
        ArticleVersion.objects.bulk_create(versions, batch_size=500)
        by_article = {v.article_id: v for v in ArticleVersion.objects.all()}
        for article in articles:
            article.current_version = by_article[article.pk]
        Article.objects.bulk_update(articles, ["current_version"], batch_size=500)
        SearchDocument.objects.bulk_create(
            [
                SearchDocument(
                    article=article,
                    language=article.language,
                    is_public=article.visibility == Visibility.PUBLIC,
                    version=1,
                    title=by_article[article.pk].title,
                    summary=by_article[article.pk].summary,
                    keywords=by_article[article.pk].keywords,
                    text=plain_text(by_article[article.pk].body, "markdown"),
                )
                for article in articles
            ],
            batch_size=500,
        )
    return time.perf_counter() - started


def plan_queries(count: int, rnd: random.Random) -> list[tuple[str, str | None, bool]]:
    plan = []
    for n in range(count):
        if n % 5 == 4:
            text, language = rnd.choice(MESSAGES), None
        else:
            text, language = rnd.choice(QUESTIONS)
        plan.append((text, language if n % 2 else None, n % 3 == 0))
    return plan


def naive(text: str, language: str | None, public_only: bool) -> list[int]:
    from django.db.models import Q

    from casework.knowledge.models import Article
    from casework.knowledge.terms import search_terms

    words = [term.word for term in search_terms(text)]
    if not words:
        return []
    condition = Q()
    for word in words:
        condition |= Q(current_version__title__icontains=word)
        condition |= Q(current_version__body__icontains=word)
    articles = Article.objects.filter(condition, is_active=True)
    if language:
        articles = articles.filter(language=language)
    if public_only:
        articles = articles.filter(visibility="public")
    return list(articles.order_by("pk").values_list("pk", flat=True)[:5])


def timed(run, plan) -> tuple[list[float], int]:  # noqa: ANN001
    latencies, found = [], 0
    for text, language, public_only in plan:
        started = time.perf_counter()
        result = run(text, language, public_only)
        latencies.append((time.perf_counter() - started) * 1000)
        found += bool(result)
    return latencies, found


def summary(name: str, latencies: list[float], found: int, total: int) -> str:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (
        f"{name:<24} median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms   "
        f"max {ordered[-1]:7.2f} ms   queries with hits {found}/{total}"
    )


def main() -> None:
    args = parse_args()
    setup_django(args.database)
    from django.db import connection

    from casework.knowledge.search import search_articles

    rnd = random.Random(20261126)
    seconds = generate(args.articles, rnd)
    print(
        f"{connection.vendor}: {args.articles} articles (de + en, 10 % internal) written and "
        f"indexed in {seconds:.1f} s"
    )
    plan = plan_queries(args.queries, rnd)

    def search(text: str, language: str | None, public_only: bool) -> list[object]:
        return search_articles(text, language=language, public_only=public_only, limit=5)

    for text, language, public_only in plan[:10]:  # warm caches and connections
        search(text, language, public_only)
        naive(text, language, public_only)
    fts, fts_found = timed(search, plan)
    scan, scan_found = timed(naive, plan)
    print(f"{len(plan)} queries (a fifth whole customer e-mails), limit 5:")
    print(summary("search_articles()", fts, fts_found, len(plan)))
    print(summary("naive icontains scan", scan, scan_found, len(plan)))
    print(f"median ratio scan / search: {statistics.median(scan) / statistics.median(fts):.1f}×")
    sample = search("Option Welt Japan Praktikum", "de", True)
    print("e.g. 'Option Welt Japan Praktikum' →", [hit.code for hit in sample[:3]])
    connection.close()
    if not args.keep and args.database == "postgresql":
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
    if not args.keep:
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
