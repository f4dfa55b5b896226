"""Documents of every supported format go through the real Celery worker and become findable."""

from __future__ import annotations

import pytest

from knowledge import services
from knowledge.models import Chunk, Document
from knowledge.retrieval import retrieve
from tests.knowledge.conftest import upload, wait_until_done

pytestmark = pytest.mark.django_db(transaction=True)

# file → (a question a customer would ask, words the answer must contain)
FORMATS = {
    "warranty.pdf": ("how long is the toaster warranty", "two year warranty"),
    "returns.html": ("can I return a kettle for a refund", "within thirty days"),
    "shipping.md": ("do you ship to Canada", "Canada, Brazil"),
    "opening-hours.docx": ("when does the Lisbon store open", "nine in the morning"),
    "faq.csv": ("do you offer gift wrapping", "three euros"),
    "care.txt": ("how do I descale the espresso machine", "citric acid"),
}


def test_each_format_is_ingested_and_found_by_hybrid_and_full_text_search(celery_worker, fake_openai, kb):
    docs = services.document_add_files(kb=kb, uploads=[upload(name) for name in FORMATS])
    try:
        for doc in docs:
            wait_until_done(doc)
            assert doc.status == Document.Status.READY, (doc.file_name, doc.error)
            assert doc.progress == 100 and doc.chunk_count >= 1
        assert not Chunk.objects.filter(kb=kb, embedding__isnull=True).exists()

        for doc in docs:
            question, answer = FORMATS[doc.file_name]
            hybrid = retrieve([kb.pk], question, top_k=3)
            assert hybrid[0].source_url == doc.file_name, (question, hybrid)
            assert answer in hybrid[0].text
            assert set(hybrid[0].methods) == {"vector", "fulltext"}
            assert hybrid[0].document_title == doc.title

            full_text = retrieve([kb.pk], question, top_k=3, methods=("fulltext",))
            assert full_text[0].source_url == doc.file_name and full_text[0].methods == ("fulltext",)
    finally:
        for doc in docs:
            services.document_delete(document=doc)


def test_html_boilerplate_is_left_out_and_headings_become_citations(celery_worker, fake_openai, kb):
    doc = services.document_add_file(kb=kb, upload=upload("returns.html"))
    try:
        wait_until_done(doc)
        assert doc.title == "Returns and refunds"  # the page title without the site name after it
        texts = " ".join(Chunk.objects.filter(document=doc).values_list("text", flat=True))
        assert "cookies" not in texts and "Copyright" not in texts and "analytics" not in texts
        hit = retrieve([kb.pk], "refunds paid back to the original card", top_k=1)[0]
        assert hit.heading == "Returns and refunds › How refunds are paid"
    finally:
        services.document_delete(document=doc)


def test_changed_file_swaps_its_chunks_and_unchanged_file_is_skipped(celery_worker, fake_openai, kb):
    doc = services.document_add_file(kb=kb, upload=upload("notes.md", b"# Parking\n\nFree parking behind the depot."))
    try:
        wait_until_done(doc)
        first_ids = set(doc.chunks.values_list("id", flat=True))

        services.document_reingest(document=doc)  # same text: nothing to redo
        wait_until_done(doc)
        assert set(doc.chunks.values_list("id", flat=True)) == first_ids

        services.document_replace_file(
            document=doc, upload=upload("notes.md", b"# Bicycles\n\nBicycle racks stand at the main entrance.")
        )
        wait_until_done(doc)
        texts = list(doc.chunks.values_list("text", flat=True))
        assert texts == ["Bicycle racks stand at the main entrance."]
        assert retrieve([kb.pk], "parking") == []
        assert retrieve([kb.pk], "bicycle racks")[0].heading == "Bicycles"
    finally:
        services.document_delete(document=doc)
    assert not Chunk.objects.filter(kb=kb).exists()


def test_without_an_embedding_provider_documents_are_found_by_full_text(celery_worker, kb):
    kb.embedding_provider = kb.Provider.NONE
    kb.save()
    doc = services.document_add_text(kb=kb, title="Pets", text="Guide dogs are welcome in every Acme store.")
    wait_until_done(doc)
    assert doc.status == Document.Status.READY
    assert doc.chunks.get().embedding is None
    hits = retrieve([kb.pk], "are dogs allowed in the store")
    assert hits[0].methods == ("fulltext",) and "Guide dogs" in hits[0].text
