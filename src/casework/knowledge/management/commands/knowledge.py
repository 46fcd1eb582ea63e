"""`casework knowledge reindex`: rebuild the full-text index from the current versions.
`casework knowledge search "TEXT" [--lang de] [--public] [--limit 5]`: print what
`search_articles()` finds (what the chat bot and the case screen get). docs/knowledge.md
explains both.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from casework.knowledge.indexing import rebuild_index
from casework.knowledge.search import search_articles


class Command(BaseCommand):
    help = (
        "Knowledge base operations. 'reindex' rebuilds the search index; "
        "'search TEXT' prints the best matching articles."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("reindex", help="rebuild the full-text index from the articles")
        search = actions.add_parser("search", help="print the articles matching a text")
        search.add_argument("text", help="the question or message to search for")
        search.add_argument("--lang", choices=["de", "en"], default=None)
        search.add_argument("--public", action="store_true", help="public articles only")
        search.add_argument("--limit", type=int, default=5)

    def handle(self, *args: object, **options: Any) -> None:
        if options["action"] == "reindex":
            started = time.perf_counter()
            count = rebuild_index()
            self.stdout.write(
                f"search index rebuilt ({connection.vendor}): {count} articles "
                f"in {time.perf_counter() - started:.2f} s"
            )
            return
        hits = search_articles(
            options["text"],
            language=options["lang"],
            public_only=options["public"],
            limit=options["limit"],
        )
        if not hits:
            self.stdout.write("no matching article")
        for rank, hit in enumerate(hits, start=1):
            where = hit.url or "internal"
            self.stdout.write(
                f"{rank}. {hit.score:6.3f}  {hit.code} ({hit.language}, v{hit.version})  "
                f"{hit.title}  [{where}]\n     {hit.excerpt}"
            )
