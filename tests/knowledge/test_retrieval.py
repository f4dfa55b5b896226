"""retrieve(): filtered to the knowledge bases asked for, top-k, citations, and an embeddings
outage answered from full text instead of an error."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from knowledge import services
from knowledge.models import KnowledgeBase
from knowledge.retrieval import retrieve
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_kbs(workspace, fake_openai):
    kbs = []
    for name, texts in (
        ("Kettles", ["# Kettles\n\nDescale the kettle monthly.", "# Lids\n\nThe kettle lid clicks shut."]),
        ("Toasters", ["# Toasters\n\nEmpty the toaster crumb tray weekly."]),
    ):
        kb = KnowledgeBase.objects.create(workspace=workspace, name=name, embedding_dimension=384)
        for i, text in enumerate(texts):
            doc = services.document_add_text(kb=kb, title=f"{name} {i}", text=text)
            assert services.document_ingest(doc.pk) == "ingested"
        kbs.append(kb)
    return kbs


def test_only_the_knowledge_bases_asked_for_are_searched(two_kbs):
    kettles, toasters = two_kbs
    hits = retrieve([kettles.pk], "empty the toaster crumb tray kettle", top_k=5)
    assert hits and all(h.document_title.startswith("Kettles") for h in hits)
    both = retrieve([kettles.pk, toasters.pk], "empty the toaster crumb tray", top_k=1)
    assert [h.document_title for h in both] == ["Toasters 0"]
    assert both[0].heading == "Toasters" and both[0].source_url == "Toasters 0" and both[0].score > 0


def test_top_k_and_empty_questions(two_kbs):
    kettles, _ = two_kbs
    assert len(retrieve([kettles.pk], "kettle", top_k=1)) == 1
    assert retrieve([kettles.pk], "   ") == [] and retrieve([], "kettle") == []
    assert retrieve([kettles.pk], "kettle -lid", methods=("fulltext",))[0].text == "Descale the kettle monthly."


def test_an_embeddings_outage_falls_back_to_full_text(two_kbs, settings):
    kettles, _ = two_kbs
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    hits = retrieve([kettles.pk], "how often should the kettle be descaled")
    assert hits[0].text == "Descale the kettle monthly." and hits[0].methods == ("fulltext",)


@pytest.mark.django_db(transaction=True)
def test_a_document_reingested_during_a_search_is_still_found(workspace):
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Shop", embedding_provider="none")
    for title, text in (
        ("Shipping times", "Standard shipping takes 3 to 5 business days."),
        ("Islands", "Shipping to islands takes two weeks by ferry."),
    ):
        services.document_add_text(kb=kb, title=title, text=text, run_now=True)
    islands = kb.documents.get(title="Islands")

    def reingest():
        # An editor saves a new version, and a worker swaps its chunks, on a connection of its own.
        try:
            services.document_replace_text(document=islands, text="Shipping to islands takes ten days by boat.")
            # The worker may have got there first (saving queued it): then this run finds it done.
            assert services.document_ingest(islands.pk) in ("ingested", "unchanged")
        finally:
            connection.close()

    swapped = []

    def between_the_statements(execute, sql, params, many, context):
        # The ranked chunk ids are known; their text is read by the statement about to run.
        if "WITH ORDINALITY" in sql and not swapped:
            swapped.append(True)
            worker = threading.Thread(target=reingest)
            worker.start()
            worker.join()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(between_the_statements):
        hits = retrieve([kb.pk], "how long does shipping to islands take", methods=("fulltext",))
    assert swapped
    assert "Shipping to islands takes ten days by boat." in [h.text for h in hits]
    assert len(hits) == 2
