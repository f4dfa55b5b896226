"""Bad files and addresses are refused at upload or end as a failed document with a clear message,
and nothing else in the knowledge base changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from knowledge import services
from knowledge.models import Chunk, Document, KnowledgeBase
from knowledge.retrieval import retrieve
from tests.knowledge.conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def text_kb(workspace, media):
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Policies", embedding_provider="none")
    good = services.document_add_text(kb=kb, title="Pets", text="Guide dogs are welcome in every store.")
    services.document_ingest(good.pk)
    return kb


def _untouched(kb: KnowledgeBase) -> None:
    good = kb.documents.get(title="Pets")
    assert good.status == Document.Status.READY and good.chunks.count() == 1
    assert retrieve([kb.pk], "guide dogs")[0].document_title == "Pets"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("setup.exe", b"MZ\x90\x00", "“setup.exe” is a file type we can't read (.exe). Upload one of: .pdf,"),
        ("notes", b"hello", "“notes” is a file type we can't read. Upload one of"),
        ("empty.md", b"", "“empty.md” is empty."),
        ("huge.txt", b"word " * 250_000, "“huge.txt” is 1.2 MB; the limit is 1 MB. Split it or compress it."),
    ],
)
def test_refused_at_upload_and_nothing_stored(text_kb, settings, name, content, message):
    settings.KNOWLEDGE_MAX_FILE_MB = 1
    before = Document.objects.count()
    with pytest.raises(services.UploadRefused) as refused:
        services.document_add_files(kb=text_kb, uploads=[upload("care.txt"), upload(name, content)])
    assert str(refused.value).startswith(message)
    assert Document.objects.count() == before  # the good file of the batch was not stored either
    _untouched(text_kb)


def test_addresses_that_are_not_web_addresses_are_refused(text_kb):
    for bad in ("ftp://example.com/file", "javascript:alert(1)", "not a url"):
        with pytest.raises(services.UploadRefused, match="is not a web address"):
            services.document_add_url(kb=text_kb, url=bad)
    assert text_kb.documents.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage", "This PDF is damaged and can't be read"),
        ("renamed.pdf", b"just some text pretending", "This file isn't a valid PDF"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "This Word file is damaged and can't be read"),
        ("faq.csv", b"question,answer\nWhere are you?,\n", "Row 1 of the CSV needs a question in the first column"),
        ("blank.txt", b"\n\n   \n\t\n", "The file is empty."),
    ],
)
def test_unreadable_files_fail_with_a_plain_message(text_kb, name, content, message):
    doc = services.document_add_file(kb=text_kb, upload=upload(name, content))
    assert services.document_ingest(doc.pk) == "failed"
    doc.refresh_from_db()
    assert doc.status == Document.Status.FAILED
    assert doc.error.startswith(message)
    assert not doc.chunks.exists()
    _untouched(text_kb)


def test_a_failed_new_version_keeps_the_previous_chunks_answering(text_kb):
    doc = services.document_add_file(kb=text_kb, upload=upload("hours.md", b"# Hours\n\nOpen daily until eight."))
    services.document_ingest(doc.pk)
    services.document_replace_file(document=doc, upload=upload("hours.pdf", b"not a pdf at all"))
    services.document_ingest(doc.pk)
    doc.refresh_from_db()
    assert doc.status == Document.Status.FAILED and "valid PDF" in doc.error
    assert doc.error.endswith("The previous version is still used for answers.")
    assert retrieve([text_kb.pk], "open until eight")[0].text == "Open daily until eight."


def test_deleting_a_document_removes_its_chunks_and_file(text_kb, media):
    doc = services.document_add_file(kb=text_kb, upload=upload("care.txt"))
    services.document_ingest(doc.pk)
    path = media / doc.file.name
    assert path.exists() and Chunk.objects.filter(document=doc).exists()
    services.document_delete(document=doc)
    assert not path.exists()
    assert not Chunk.objects.filter(document_id=doc.pk).exists()
    assert retrieve([text_kb.pk], "descale espresso") == []
    _untouched(text_kb)


def test_stalled_ingestions_are_queued_again_and_moving_ones_left_alone(text_kb, django_capture_on_commit_callbacks):
    stalled = Document.objects.create(kb=text_kb, source=Document.Source.TEXT, text="Lost task.", progress=40)
    moving = Document.objects.create(kb=text_kb, source=Document.Source.TEXT, text="Working.", progress=40)
    Document.objects.filter(pk__in=[stalled.pk, moving.pk]).update(status=Document.Status.EMBEDDING)
    # Quiet for longer than a task may live: lost. Quiet for less (11 minutes of a 15-minute task
    # whose last step is slow) may still be running, and a second run beside it would double the work.
    limit = settings.CELERY_TASK_TIME_LIMIT
    Document.objects.filter(pk=stalled.pk).update(updated_at=timezone.now() - timedelta(seconds=limit + 180))
    Document.objects.filter(pk=moving.pk).update(updated_at=timezone.now() - timedelta(seconds=limit - 240))
    with django_capture_on_commit_callbacks() as queued:
        assert services.documents_resume_stalled() == 1
    assert len(queued) == 1
    stalled.refresh_from_db()
    moving.refresh_from_db()
    assert (stalled.status, stalled.progress) == (Document.Status.PENDING, 0)
    assert (moving.status, moving.progress) == (Document.Status.EMBEDDING, 40)
    _untouched(text_kb)
