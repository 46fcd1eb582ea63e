"""The full-text index over `knowledge_searchdocument`, in the database's own search engine.

SQLite: an FTS5 table (unicode61 tokenizer folding diacritics: "Gebühren" and "Gebuhren"
are one word) and triggers that copy every insert, update and delete of a search document
into it. PostgreSQL: a tsvector column filled by a trigger (German configuration for German
articles, English for English; title, keywords, summary and text weighted A to D) and a
GIN index on it. Both keep the index in the transaction that writes the document.
"""

from django.db import migrations

SQLITE = [
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
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS knowledge_search_fts_delete",
    "DROP TRIGGER IF EXISTS knowledge_search_fts_update",
    "DROP TRIGGER IF EXISTS knowledge_search_fts_insert",
    "DROP TABLE IF EXISTS knowledge_search_fts",
]

POSTGRESQL = [
    "ALTER TABLE knowledge_searchdocument ADD COLUMN IF NOT EXISTS document tsvector",
    """CREATE OR REPLACE FUNCTION knowledge_searchdocument_vector() RETURNS trigger
        LANGUAGE plpgsql AS $$
    DECLARE
        config regconfig := CASE NEW.language
            WHEN 'de' THEN 'german'::regconfig ELSE 'english'::regconfig END;
    BEGIN
        NEW.document :=
            setweight(to_tsvector(config, coalesce(NEW.title, '')), 'A')
            || setweight(to_tsvector(config, coalesce(NEW.keywords, '')), 'B')
            || setweight(to_tsvector(config, coalesce(NEW.summary, '')), 'C')
            || setweight(to_tsvector(config, coalesce(NEW.text, '')), 'D');
        RETURN NEW;
    END $$""",
    "DROP TRIGGER IF EXISTS knowledge_searchdocument_vector ON knowledge_searchdocument",
    """CREATE TRIGGER knowledge_searchdocument_vector
        BEFORE INSERT OR UPDATE ON knowledge_searchdocument
        FOR EACH ROW EXECUTE FUNCTION knowledge_searchdocument_vector()""",
    """CREATE INDEX IF NOT EXISTS knowledge_searchdocument_document
        ON knowledge_searchdocument USING gin (document)""",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS knowledge_searchdocument_document",
    "DROP TRIGGER IF EXISTS knowledge_searchdocument_vector ON knowledge_searchdocument",
    "DROP FUNCTION IF EXISTS knowledge_searchdocument_vector()",
    "ALTER TABLE knowledge_searchdocument DROP COLUMN IF EXISTS document",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0002_articles'),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]
