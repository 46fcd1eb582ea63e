"""`casework knowledge reindex` and `casework knowledge search`."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from casework.knowledge.models import Visibility
from casework.knowledge.search import search_articles
from tests.knowledge.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_reindex_rebuilds_a_lost_index(capsys):
    ArticleFactory(code="esim", title="eSIM bestellen", body="QR-Code scannen.")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DELETE FROM knowledge_search_fts")
        else:
            # Triggers off for the statement, as a broken or dropped one would be.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("UPDATE knowledge_searchdocument SET document = NULL")
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    assert search_articles("eSIM") == []

    call_command("knowledge", "reindex")

    assert "1 articles" in capsys.readouterr().out
    assert [hit.code for hit in search_articles("eSIM")] == ["esim"]


def test_search_prints_hits_with_score_and_address(capsys):
    ArticleFactory(code="esim", title="eSIM bestellen", body="QR-Code scannen.")
    ArticleFactory(code="intern", title="eSIM intern", visibility=Visibility.INTERNAL)

    call_command("knowledge", "search", "eSIM", "--lang", "de", "--public")

    out = capsys.readouterr().out
    assert "esim (de, v1)  eSIM bestellen  [/help/esim/?lang=de]" in out
    assert "intern" not in out
