"""A worker killed in the middle of ingestion: the document finishes when the task runs again,
with no duplicate chunks, and a killed re-ingestion never leaves half-replaced chunks."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from knowledge.models import Chunk, Document, KnowledgeBase
from knowledge.tasks import ingest_document
from tests.conftest import vendor_env
from tests.fakes.openai_server import FakeOpenAI
from tests.knowledge.conftest import wait_until_done
from tests.processes import start_worker_on
from tests.services import subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


class SlowEmbeddings(FakeOpenAI):
    """The fake OpenAI whose embeddings take a while, so a worker can be killed mid-batch."""

    async def _embeddings(self, send, payload):
        await asyncio.sleep(1.5)
        await super()._embeddings(send, payload)


def kill_while_embedding(document: Document, slow: FakeOpenAI, queue: str) -> None:
    worker = start_worker_on(queue, subprocess_env(**vendor_env(slow)))
    ingest_document.apply_async(args=[document.pk], queue=queue)
    deadline = time.monotonic() + 30
    while not (slow.requests and Document.objects.get(pk=document.pk).status == Document.Status.EMBEDDING):
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.05)
    worker.stop(sig=signal.SIGKILL)


def paragraphs(topic: str, n: int) -> str:
    return "\n\n".join(
        f"{topic} note {i}: the {topic} procedure number {i} explains step {i} in plain words for customers."
        for i in range(n)
    )


def test_killed_worker_leaves_the_document_resumable_and_never_half_replaced(workspace, fake_openai_server):
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Big", embedding_dimension=384, chunk_size=60)
    # Set up directly: the service would queue on the default queue, which the shared worker serves.
    doc = Document.objects.create(kb=kb, source=Document.Source.TEXT, title="Manual", text=paragraphs("descaling", 150))
    slow = SlowEmbeddings().start()
    fast = start_worker_on("kb-fast", subprocess_env(**vendor_env(fake_openai_server)))
    try:
        kill_while_embedding(doc, slow, "kb-slow-1")
        doc.refresh_from_db()
        assert doc.status == Document.Status.EMBEDDING and 20 <= doc.progress < 100
        assert not Chunk.objects.filter(document=doc).exists()  # nothing half-written

        ingest_document.apply_async(args=[doc.pk], queue="kb-fast")  # the task runs again
        wait_until_done(doc)
        assert doc.status == Document.Status.READY and doc.chunk_count > 128  # three batches of 64
        positions = list(Chunk.objects.filter(document=doc).order_by("position").values_list("position", flat=True))
        assert positions == list(range(doc.chunk_count))  # each chunk once
        first_version = set(Chunk.objects.filter(document=doc).values_list("id", flat=True))

        Document.objects.filter(pk=doc.pk).update(text=paragraphs("grinding", 150))
        slow.requests.clear()
        kill_while_embedding(doc, slow, "kb-slow-2")
        assert set(Chunk.objects.filter(document=doc).values_list("id", flat=True)) == first_version

        ingest_document.apply_async(args=[doc.pk], queue="kb-fast")
        wait_until_done(doc)
        texts = list(Chunk.objects.filter(document=doc).values_list("text", flat=True))
        assert len(texts) == doc.chunk_count and all("grinding" in t and "descaling" not in t for t in texts)
    finally:
        fast.stop()
        slow.stop()
