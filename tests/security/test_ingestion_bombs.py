"""Item: a small upload that expands enormously (a zip bomb in a .docx, XML entity expansion, an
external entity, a PDF of thousands of pages) ends in a failed state with its reason on the
document's page, uploaded through the API of the running server and read by the real worker; and
a document whose reading keeps killing the worker stops being retried after a few attempts."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pypdf import PdfWriter

from bots.models import Membership, Workspace
from knowledge import services
from knowledge.models import Document, KnowledgeBase
from knowledge.tasks import ingest_document
from tests.conftest import vendor_env
from tests.knowledge.conftest import wait_until_done
from tests.knowledge.test_worker_killed import SlowEmbeddings, kill_while_embedding, paragraphs
from tests.processes import start_worker_on
from tests.security.conftest import api_client
from tests.services import subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def docx(document_xml: bytes | None = None, *, padding_mb: int = 0) -> bytes:
    """A Word file; with `padding_mb`, its text part holds that many megabytes of spaces, which
    deflate to almost nothing (a zip bomb)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        if document_xml is not None:
            archive.writestr("word/document.xml", document_xml)
        else:
            with archive.open("word/document.xml", "w", force_zip64=True) as part:
                part.write(f"<w:document {W}><w:body><w:p><w:r><w:t>Refunds".encode())
                chunk = b" " * (1024 * 1024)
                for _ in range(padding_mb):
                    part.write(chunk)
                part.write(b"</w:t></w:r></w:p></w:body></w:document>")
    return out.getvalue()


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + f"]><w:document {W}><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
).encode()
XXE = (
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f"<w:document {W}><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
).encode()


def pdf_of_pages(count: int) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=72, height=72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def kb(transactional_db):
    workspace = Workspace.objects.create(name="Shop", slug="shop")
    return KnowledgeBase.objects.create(workspace=workspace, name="Help", embedding_provider="none")


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("bomb.docx", lambda: docx(padding_mb=250), "expands to 250 MB when opened; the limit is 200 MB"),
        ("laughs.docx", lambda: docx(LAUGHS), "damaged or unsafe to read"),
        ("xxe.docx", lambda: docx(XXE), "damaged or unsafe to read"),
        ("pages.pdf", lambda: pdf_of_pages(2001), "has 2,001 pages; the limit is 2,000"),
    ],
    ids=["zip-bomb", "billion-laughs", "external-entity", "too-many-pages"],
)
def test_an_expanding_upload_fails_with_its_reason_on_the_documents_page(
    security_server, celery_worker, kb, name, content, reason
):
    data = content()
    assert len(data) < 2 * 1024 * 1024  # small on the wire
    with api_client(security_server, kb.workspace, "bots:read", "bots:write") as api:
        created = api.post(f"/api/v1/knowledge/bases/{kb.id}/documents/upload", files={"file": (name, data)})
    assert created.status_code == 201, created.text
    document = wait_until_done(Document.objects.get(pk=created.json()["id"]))
    assert document.status == Document.Status.FAILED and reason in document.error
    assert document.attempts == 0 and not document.chunks.exists()
    assert "root:" not in document.error

    builder = get_user_model().objects.create_user("bea", "bea@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=builder, workspace=kb.workspace, role=Membership.Role.BUILDER)
    client = Client()
    client.force_login(builder)
    page = client.get(f"/admin/knowledge/document/{document.pk}/change/").content.decode()
    assert reason.replace("'", "&#x27;") in page


def test_a_document_that_keeps_killing_its_worker_fails_after_three_attempts(
    transactional_db, fake_openai_server, celery_worker
):
    workspace = Workspace.objects.create(name="Shop", slug="shop")
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Big", embedding_dimension=384, chunk_size=60)
    doc = Document.objects.create(kb=kb, source=Document.Source.TEXT, title="Manual", text=paragraphs("descaling", 150))
    slow = SlowEmbeddings().start()
    try:
        for attempt in range(1, services.MAX_ATTEMPTS + 1):
            slow.requests.clear()
            kill_while_embedding(doc, slow, f"kb-killed-{attempt}")
            doc.refresh_from_db()
            assert doc.attempts == attempt and doc.status == Document.Status.EMBEDDING

        # The broker redelivers it (or beat resumes it): this time it is not read again.
        worker = start_worker_on("kb-last", subprocess_env(**vendor_env(fake_openai_server)))
        try:
            slow.requests.clear()
            ingest_document.apply_async(args=[doc.pk], queue="kb-last")
            doc = wait_until_done(doc)
        finally:
            worker.stop()
        assert doc.status == Document.Status.FAILED and doc.error == services.STOPPED_TOO_OFTEN
        assert slow.requests == [] and not doc.chunks.exists()

        # "Ingest again" is a new start: the builder may try once more, and on a healthy worker
        # (the embeddings answer at once now) the document is read to the end.
        services.document_reingest(document=doc)
        doc.refresh_from_db()
        assert doc.status == Document.Status.PENDING and doc.attempts == 0
        doc = wait_until_done(doc)
        assert doc.status == Document.Status.READY and doc.chunks.exists()
    finally:
        slow.stop()
