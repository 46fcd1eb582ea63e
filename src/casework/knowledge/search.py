"""Full-text search over the current versions of active articles: the one interface for the
case screen's suggestions, the help pages, the chat bot and the command line.

The database's own engine does the matching and the first ranking, chosen by
`connection.vendor`: SQLite FTS5 (bm25 with column weights) or PostgreSQL text search
(German or English configuration by the article's language, `ts_rank` over the weighted
tsvector). Both get the same terms (`knowledge.terms`): any term may match, as a word prefix.
The engine's best `CANDIDATES_PER_HIT × limit` candidates are then ranked again here by

    score = relevance + 2 × coverage

where relevance is the engine's (higher is better, scaled so that the best candidate has
1.0) and coverage the share of the query's terms found in the article (title, keywords,
summary, text; 0 … 1). So an article that answers all of a question beats one that
repeats a single word of it often, and among articles that cover a question equally the
engine's ranking decides. Scores lie between 0 and 3 and compare within one result list
only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.db import connection
from django.urls import reverse

from casework.knowledge import terms as terms_
from casework.knowledge.models import SearchDocument
from casework.knowledge.terms import Term

LANGUAGES = ("de", "en")
CANDIDATES_PER_HIT = 4
MIN_CANDIDATES = 20
MAX_LIMIT = 100
COVERAGE_WEIGHT = 2.0
# A query whose words the title holds (also inside compounds) is about that article's topic.
TITLE_WEIGHT = 1.0
# ts_rank's weights for D (text), C (summary), B (keywords), A (title): flatter than the
# default {0.1, 0.2, 0.4, 1.0}, under which a word in the title outweighed a text that
# answers the whole question.
PG_WEIGHTS = "{0.2, 0.3, 0.6, 1.0}"


@dataclass(frozen=True)
class ArticleHit:
    article_id: int
    code: str  # stable slug of the article
    version: int
    language: str  # "de" | "en"
    title: str
    summary: str
    excerpt: str  # a short plain-text passage around the match
    score: float  # higher = better; comparable within one result list
    url: str  # the public page's path ("/help/<code>/?lang=de"), "" for internal articles


def search_articles(
    text: str, *, language: str | None = None, public_only: bool = False, limit: int = 5
) -> list[ArticleHit]:
    """The best matching current article versions for `text` (a few words or a whole
    message), best first; [] when the text holds no searchable word."""
    terms = terms_.search_terms(text)
    if not terms or limit <= 0:
        return []
    if language is not None and language not in LANGUAGES:
        return []
    limit = min(limit, MAX_LIMIT)
    candidates = _backend().candidates(
        terms,
        language=language,
        public_only=public_only,
        limit=max(MIN_CANDIDATES, CANDIDATES_PER_HIT * limit),
    )
    if not candidates:
        return []
    documents = SearchDocument.objects.select_related("article").in_bulk(
        [article_id for article_id, _ in candidates]
    )
    best = max(relevance for _, relevance in candidates) or 1.0
    hits = []
    for article_id, relevance in candidates:
        document = documents.get(article_id)
        if document is None:  # deleted since the engine answered
            continue
        words = " ".join((document.title, document.keywords, document.summary, document.text))
        score = (
            relevance / best
            + COVERAGE_WEIGHT * terms_.coverage(terms, words)
            + TITLE_WEIGHT * terms_.title_coverage(terms, document.title)
        )
        hits.append((score, document))
    hits.sort(key=lambda hit: (-hit[0], hit[1].article_id))
    return [_hit(document, terms, score) for score, document in hits[:limit]]


def _hit(document: SearchDocument, terms: list[Term], score: float) -> ArticleHit:
    code, language = document.article.code, document.language
    url = ""
    if document.is_public:
        url = reverse("web:help_article", kwargs={"code": code}) + f"?lang={language}"
    return ArticleHit(
        article_id=document.article_id,
        code=code,
        version=document.version,
        language=language,
        title=document.title,
        summary=document.summary,
        excerpt=terms_.excerpt(document.text, terms),
        score=round(score, 6),
        url=url,
    )


class _Backend(Protocol):
    def candidates(
        self, terms: list[Term], *, language: str | None, public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        """(article id, relevance ≥ 0) of the best matches, best first."""
        ...


def _backend() -> _Backend:
    if connection.vendor == "postgresql":
        return PostgresBackend()
    return SqliteBackend()


def _filters(language: str | None, public_only: bool) -> tuple[str, list[object]]:
    sql, params = "", []
    if language is not None:
        sql += " AND d.language = %s"
        params.append(language)
    if public_only:
        sql += " AND d.is_public"
    return sql, params


class SqliteBackend:
    """FTS5: `bm25()` is lower for better matches; title counts 10×, keywords 6×, summary
    3× as much as the text."""

    def candidates(
        self, terms: list[Term], *, language: str | None, public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        filters, params = _filters(language, public_only)
        sql = (
            "SELECT d.article_id, -bm25(knowledge_search_fts, 10.0, 6.0, 3.0, 1.0) AS relevance"
            " FROM knowledge_search_fts"
            " JOIN knowledge_searchdocument d ON d.article_id = knowledge_search_fts.rowid"
            f" WHERE knowledge_search_fts MATCH %s{filters}"
            " ORDER BY relevance DESC, d.article_id LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [terms_.fts5_query(terms), *params, limit])
            return [(article_id, max(0.0, relevance)) for article_id, relevance in cursor]


class PostgresBackend:
    """PostgreSQL text search: each article is matched with the query in its own language's
    configuration; `ts_rank` (normalised by the document's length, weights `PG_WEIGHTS`)
    ranks."""

    def candidates(
        self, terms: list[Term], *, language: str | None, public_only: bool, limit: int
    ) -> list[tuple[int, float]]:
        filters, params = _filters(language, public_only)
        query = terms_.tsquery_text(terms)
        sql = (
            "SELECT d.article_id,"
            " ts_rank(%s::float4[], d.document,"
            " CASE d.language WHEN 'de' THEN q.de ELSE q.en END, 1)"
            " AS relevance"
            " FROM knowledge_searchdocument d,"
            " (SELECT to_tsquery('german', %s) AS de, to_tsquery('english', %s) AS en) q"
            " WHERE ((d.language = 'de' AND d.document @@ q.de)"
            " OR (d.language <> 'de' AND d.document @@ q.en))"
            f"{filters}"
            " ORDER BY relevance DESC, d.article_id LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [PG_WEIGHTS, query, query, *params, limit])
            return [(article_id, float(relevance)) for article_id, relevance in cursor]
