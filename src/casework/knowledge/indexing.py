"""Keeping the search index in step with the articles.

`index_article()` runs inside the transaction that publishes a version or changes an
article: it writes (or removes) the article's `SearchDocument`, and the database's triggers
derive the FTS5 rows or the tsvector from it in the same statement. `rebuild_index()` is
`casework knowledge reindex`: every document written again from the current versions, and
the triggers recreated if a migration dropped them.
"""

from __future__ import annotations

from django.db import connection, transaction

from casework.knowledge.models import Article, SearchDocument, Visibility
from casework.knowledge.rendering import plain_text

# The statements of migration 0003, kept here so that a rebuild repairs what a later
# table rebuild on SQLite may have dropped. IF NOT EXISTS makes them safe to repeat.
_SQLITE_SETUP = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_search_fts USING fts5(
        title, keywords, summary, body, tokenize = 'unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS knowledge_search_fts_insert
        AFTER INSERT ON knowledge_searchdocument BEGIN
        INSERT INTO knowledge_search_fts (rowid, title, keywords, summary, body)
        VALUES (new.article_id, new.title, new.keywords, new.summary, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS knowledge_search_fts_update
        AFTER UPDATE ON knowledge_searchdocument BEGIN
        DELETE FROM knowledge_search_fts WHERE rowid = old.article_id;
        INSERT INTO knowledge_search_fts (rowid, title, keywords, summary, body)
        VALUES (new.article_id, new.title, new.keywords, new.summary, new.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS knowledge_search_fts_delete
        AFTER DELETE ON knowledge_searchdocument BEGIN
        DELETE FROM knowledge_search_fts WHERE rowid = old.article_id;
    END""",
]
_SQLITE_REFILL = [
    "DELETE FROM knowledge_search_fts",
    """INSERT INTO knowledge_search_fts (rowid, title, keywords, summary, body)
        SELECT article_id, title, keywords, summary, text FROM knowledge_searchdocument""",
]
# The trigger fills `document` on every update, so touching each row recomputes it.
_POSTGRESQL_REFILL = ["UPDATE knowledge_searchdocument SET version = version"]


def index_article(article: Article) -> None:
    """Write the article's search document from its current version, or remove it when
    the article is not searchable (inactive, or nothing published yet)."""
    version = article.current_version
    if not article.is_active or version is None:
        SearchDocument.objects.filter(article_id=article.pk).delete()
        return
    SearchDocument.objects.update_or_create(
        article_id=article.pk,
        defaults={
            "language": article.language,
            "is_public": article.visibility == Visibility.PUBLIC,
            "version": version.number,
            "title": version.title,
            "summary": version.summary,
            "keywords": version.keywords,
            "text": plain_text(version.body, version.body_format),
        },
    )


@transaction.atomic
def rebuild_index() -> int:
    """Every searchable article indexed again; returns how many are in the index."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in _SQLITE_SETUP:
                cursor.execute(statement)
    SearchDocument.objects.exclude(
        article__in=Article.objects.filter(is_active=True, current_version__isnull=False)
    ).delete()
    articles = Article.objects.filter(is_active=True, current_version__isnull=False)
    for article in articles.select_related("current_version").iterator(chunk_size=500):
        index_article(article)
    with connection.cursor() as cursor:
        refill = _SQLITE_REFILL if connection.vendor == "sqlite" else _POSTGRESQL_REFILL
        for statement in refill:
            cursor.execute(statement)
    return SearchDocument.objects.count()
