"""Ingestion throughput: chunks per second through a real Celery worker with the fake embedder.

Starts embedded Postgres (+ pgvector) and Redis, the fake OpenAI server (word-hashing
embeddings, answering at once, so the figure is the platform's own cost: extraction, chunking,
token counting, embedding requests and the chunk swap) and one Celery worker (`-P solo`, one
process). Queues DOCUMENTS Markdown documents of about CHUNKS_PER_DOC chunks each and times
them from queueing to the last one ready.

Run from the repository root: `.venv/bin/python bench/ingest.py`.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import bench_services, setup_django  # noqa: E402

DOCUMENTS = 20
CHUNKS_PER_DOC = 100
SECTIONS = ("Delivery", "Returns", "Warranty", "Cleaning", "Troubleshooting", "Payments", "Installation")
WORDS = (
    "appliance kettle toaster grinder filter seal tank warranty refund parcel courier invoice card support "
    "button light error code descale rinse water power cable spare part model serial number receipt store "
    "Lisbon weekday morning evening minutes hours days return label label printer account password app wifi"
).split()


def document_text(rng: random.Random) -> str:
    """Markdown with headings and paragraphs of 60-110 words: about one chunk per paragraph at 120 tokens."""
    parts = []
    for i in range(CHUNKS_PER_DOC):
        if i % 5 == 0:
            parts.append(f"## {rng.choice(SECTIONS)} {i // 5}")
        sentences = []
        for _ in range(rng.randint(5, 9)):
            sentences.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))).capitalize() + ".")
        parts.append(" ".join(sentences))
    return "\n\n".join(parts)


def main() -> None:
    with bench_services("ingest", DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1") as env:
        from tests.fakes.openai_server import FakeOpenAI

        fake = FakeOpenAI().start()
        worker = None
        try:
            env |= {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake.base_url}
            os.environ.update(env)
            setup_django()
            from bots.models import Workspace
            from knowledge import services as knowledge
            from knowledge.models import Document, KnowledgeBase
            from tests.processes import start_worker

            worker = start_worker(env)
            workspace = Workspace.objects.create(name="Bench", slug="bench")
            kb = KnowledgeBase.objects.create(
                workspace=workspace, name="Bench", embedding_dimension=384, chunk_size=120, chunk_overlap=20
            )
            rng = random.Random(11)
            texts = [document_text(rng) for _ in range(DOCUMENTS)]
            started = time.perf_counter()
            queued_at = {}
            for i, text in enumerate(texts):
                doc = knowledge.document_add_text(kb=kb, title=f"Manual {i}", text=text)
                queued_at[doc.pk] = time.perf_counter()
            finished_at: dict[int, float] = {}
            deadline = time.monotonic() + 600
            while len(finished_at) < DOCUMENTS and time.monotonic() < deadline:
                for pk, status in Document.objects.filter(kb=kb).values_list("pk", "status"):
                    if status in (Document.Status.READY, Document.Status.FAILED) and pk not in finished_at:
                        finished_at[pk] = time.perf_counter()
                time.sleep(0.05)
            elapsed = max(finished_at.values()) - started
            docs = list(Document.objects.filter(kb=kb))
            failed = [d for d in docs if d.status != Document.Status.READY]
            chunks = sum(d.chunk_count for d in docs)
            tokens = sum(d.token_count for d in docs)
            embed_requests = sum(1 for r in fake.requests if r["path"].endswith("/embeddings"))
        finally:
            if worker is not None:
                worker.stop()
            fake.stop()

    per_doc = [(finished_at[pk] - queued_at[pk]) * 1000 for pk in finished_at]
    print(f"\nIngestion through one Celery worker (-P solo), fake embeddings (384 dims), {DOCUMENTS} documents")
    print(
        "machine load average (1/5/15 min): {:.1f} / {:.1f} / {:.1f} on {} cores".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    print(
        f"{'documents':>9} | {'failed':>6} | {'chunks':>6} | {'tokens':>7} | {'embed calls':>11} | {'seconds':>7} | {'chunks/s':>8} | {'tokens/s':>8}"
    )
    print(
        f"{DOCUMENTS:>9} | {len(failed):>6} | {chunks:>6} | {tokens:>7} | {embed_requests:>11} | {elapsed:>7.2f} | "
        f"{chunks / elapsed:>8.0f} | {tokens / elapsed:>8.0f}"
    )
    q = statistics.quantiles(per_doc, n=100)
    print(f"queue → ready per document (ms, includes waiting behind earlier ones): p50 {q[49]:.0f}, p95 {q[94]:.0f}")
    print(json.dumps({"chunks_per_s": round(chunks / elapsed, 1)}))


if __name__ == "__main__":
    main()
