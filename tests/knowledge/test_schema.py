"""The chunk table keeps its search column and vector indexes in the database itself."""

import pytest
from django.db import connection

from bots.models import Workspace
from knowledge.models import Chunk, Document, KnowledgeBase


@pytest.mark.django_db
def test_chunk_search_column_is_generated_and_vectors_are_indexed_per_dimension():
    ws = Workspace.objects.create(name="W", slug="w")
    kb = KnowledgeBase.objects.create(workspace=ws, name="Help", embedding_dimension=384)
    doc = Document.objects.create(kb=kb, source=Document.Source.TEXT, text="x")
    Chunk.objects.create(
        document=doc, kb=kb, position=0, heading="Returns", text="Refunds take five days", token_count=4
    )
    with connection.cursor() as cur:
        cur.execute("SELECT search::text FROM knowledge_chunk")
        assert "refund" in cur.fetchone()[0]
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'knowledge_chunk'")
        names = {r[0] for r in cur.fetchall()}
    assert {"chunk_embedding_hnsw_384", "chunk_embedding_hnsw_1536", "chunk_search_gin"} <= names


@pytest.mark.django_db
def test_every_connection_searches_the_hnsw_graph_wider_than_pgvectors_default():
    with connection.cursor() as cur:
        cur.execute("SHOW hnsw.ef_search")
        assert cur.fetchone()[0] == "100"
