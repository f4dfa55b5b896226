"""Retrieval quality on a labelled set with the built-in model, then speed at scale.

Quality: the labelled help center of `bench/knowledge_set.py` (28 current documents, 4 older
versions they supersede, 100 questions, a third sharing no content word with their passage)
is ingested through `knowledge.services` into a knowledge base using the built-in model, the
default when no embedding API key is set, and every question goes through
`knowledge.retrieval.retrieve` (top 5, hybrid). It reports recall@5 per kind of question for
hybrid and full-text search, how often a superseded passage ranks above the current one, and
the built-in model's embedding speed (chunks of the set, batches of 64, this process).

Scale: starts the fake OpenAI server (its word-hashing embeddings, 384 dimensions, for chunks
and questions alike), builds help-center-like chunks from templates, bulk-loads them with binary
COPY and builds the HNSW and GIN indexes after loading, then times `retrieve` (top 5, hybrid)
with the HNSW index and with index scans disabled (exact kNN), and measures recall@10 of the
index against exact search. Question vectors are fetched once before timing (retrieval caches
them), so the figures are the platform's share: SQL, fusion, Python.

Run from the repository root:

    .venv/bin/python bench/retrieval.py                    # quality, then 10k and 100k chunks
    .venv/bin/python bench/retrieval.py --chunks 1000000   # quality, then one million chunks
    .venv/bin/python bench/retrieval.py --chunks 0         # quality only

One million 384-dimension chunks need about 6 GB of disk for the table and its indexes and
roughly an hour to load and index on two cores (HNSW build: m=16, ef_construction=64).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import bench_services, setup_django  # noqa: E402

SIZES = (10_000, 100_000)
DIM = 384
QUALITY_TOP_K = 5
QUERIES = 100
TOP_K = 5
RECALL_K = 10

PRODUCTS = (
    "espresso machine, kettle, toaster, blender, coffee grinder, air fryer, microwave, rice cooker, juicer, "
    "stand mixer, dishwasher, fridge, robot vacuum, food processor, water filter, slow cooker, bread maker, "
    "induction hob, range hood, washing machine, tumble dryer, iron, steam cleaner, humidifier, dehumidifier"
).split(", ")
TOPICS = (
    "warranty claim, refund, delivery time, installation, cleaning, descaling, error code, filter replacement, "
    "power cable, spare parts, return label, invoice, payment, firmware update, strange noise, water leak, "
    "temperature setting, timer, lid seal, child lock, energy use, noise level, app pairing, wifi setup"
).split(", ")
ACTIONS = (
    "unplug the appliance, wait ten minutes, press and hold the power button, rinse the tank with warm water, "
    "check the seal for cracks, update the firmware from the app, reset it to factory settings, "
    "contact support with the serial number, replace the filter cartridge, run a cleaning cycle, "
    "tighten the hose clamp, remove the drip tray, empty the dust container, dry every part before reassembly"
).split(", ")
FACTS = (
    "the warranty lasts two years, refunds reach your card within five working days, "
    "express delivery arrives the next working day, spare parts ship from Lisbon, "
    "the serial number is printed under the base, the filter lasts about three months, "
    "support answers from nine to six on weekdays, installation is free in mainland Portugal, "
    "returns are accepted within thirty days, invoices are emailed after dispatch"
).split(", ")


def chunk_text(rng: random.Random) -> tuple[str, str]:
    product, topic = rng.choice(PRODUCTS), rng.choice(TOPICS)
    code = f"{rng.choice('ABCDEFGHKLMNPRSTX')}{rng.randint(10, 99)}-{rng.randint(100, 999)}"
    sentences = [f"This article covers {topic} for the {product} model {code}."]
    for _ in range(rng.randint(3, 6)):
        sentences.append(
            rng.choice(
                [
                    f"If the {product} shows error E{rng.randint(1, 60)}, {rng.choice(ACTIONS)} and then {rng.choice(ACTIONS)}.",
                    f"For {topic}, {rng.choice(ACTIONS)}; note that {rng.choice(FACTS)}.",
                    f"Customers often ask about {rng.choice(TOPICS)} on the {product}: {rng.choice(FACTS)}.",
                    f"Step {rng.randint(1, 9)}: {rng.choice(ACTIONS)}, then {rng.choice(ACTIONS)}.",
                ]
            )
        )
    return f"{product.title()} › {topic.capitalize()}", " ".join(sentences)


def question(rng: random.Random) -> str:
    product, topic = rng.choice(PRODUCTS), rng.choice(TOPICS)
    return rng.choice(
        [
            f"how do I handle {topic} on my {product}",
            f"my {product} shows error E{rng.randint(1, 60)}, what should I do",
            f"{topic} {product}",
            f"how long does the {topic} take for a {product}",
            f"what is the {topic} policy for the {product}",
        ]
    )


_WORD = re.compile(r"[a-z0-9]+")
_slots: dict[str, tuple[int, float]] = {}


def embedding(text: str) -> np.ndarray:
    """The fake OpenAI server's word-hashing embedding (tests/fakes/openai_server.py), vectorised."""
    vec = np.zeros(DIM, dtype=np.float32)
    for word in _WORD.findall(text.lower()):
        slot = _slots.get(word)
        if slot is None:
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            slot = _slots[word] = (h % DIM, 1.0 if (h >> 32) & 1 else -1.0)
        vec[slot[0]] += slot[1]
    norm = float(np.linalg.norm(vec)) or 1.0
    return vec / norm


def load(kb, document, start: int, count: int, rng: random.Random) -> None:
    from django.db import connection
    from pgvector.psycopg import register_vector

    connection.ensure_connection()
    conn = connection.connection
    register_vector(conn)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ('chunk_embedding_hnsw_384', 'chunk_search_gin')"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        t0 = time.perf_counter()
        sql = (
            "COPY knowledge_chunk (document_id, kb_id, position, heading, text, token_count, embedding, embedding_dim) "
            "FROM STDIN WITH (FORMAT BINARY)"
        )
        with cur.copy(sql) as copy:
            copy.set_types(["int8", "int8", "int4", "varchar", "text", "int4", "vector", "int2"])
            for position in range(start, start + count):
                heading, text = chunk_text(rng)
                copy.write_row(
                    [
                        document.pk,
                        kb.pk,
                        position,
                        heading,
                        text,
                        len(text.split()),
                        embedding(f"{heading}\n\n{text}"),
                        DIM,
                    ]
                )
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET max_parallel_maintenance_workers = 1")
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute("ANALYZE knowledge_chunk")
        print(f"  loaded {count:,} chunks in {loaded:.1f} s; indexes built in {time.perf_counter() - t0:.1f} s")
    conn.commit()


def timed(fn, queries) -> list[float]:
    samples = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def pct(samples: list[float], p: float) -> float:
    return statistics.quantiles(samples, n=100)[int(p) - 1]


def measure(kb, queries: list[str]) -> dict:
    from django.db import connection, transaction

    from knowledge.retrieval import retrieve

    def exact(fn):
        def run(q):
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL enable_indexscan = off")  # no HNSW: a sequential scan, exact kNN
                return fn(q)

        return run

    hybrid = lambda q: retrieve([kb.pk], q, top_k=TOP_K)  # noqa: E731
    vector = lambda q: [c.chunk_id for c in retrieve([kb.pk], q, top_k=RECALL_K, methods=("vector",))]  # noqa: E731
    for q in queries:  # warm: question vectors fetched from the fake and cached
        hybrid(q)
    recalls = []
    for q in queries:
        approx, truth = vector(q), exact(vector)(q)
        if truth:
            recalls.append(len(set(approx) & set(truth)) / len(truth))
    rows = {
        "hybrid, HNSW": timed(hybrid, queries),
        "hybrid, exact": timed(exact(hybrid), queries),
        "full text only": timed(lambda q: retrieve([kb.pk], q, top_k=TOP_K, methods=("fulltext",)), queries),
    }
    with connection.cursor() as cur:
        cur.execute(
            "EXPLAIN SELECT id FROM knowledge_chunk WHERE embedding_dim = 384 AND kb_id = ANY(%s) "
            "ORDER BY embedding::vector(384) <=> %s::vector(384) LIMIT 40",
            [[kb.pk], "[" + ",".join(["0.05"] * DIM) + "]"],
        )
        plan = " ".join(r[0] for r in cur.fetchall())
    return {"rows": rows, "recall": statistics.mean(recalls), "uses_hnsw": "chunk_embedding_hnsw_384" in plan}


def quality() -> dict:
    """The labelled set through the services and retrieval, with the built-in model."""
    import knowledge_set

    from bots.models import Workspace
    from knowledge import chunk, services
    from knowledge.embed import BATCH_SIZE, local_embedder
    from knowledge.models import KnowledgeBase
    from knowledge.retrieval import retrieve

    knowledge_set.check()
    workspace = Workspace.objects.create(name="Quality", slug="quality")
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Brightside", embedding_provider="local")
    old_ids = {}
    for title, text in knowledge_set.OLD_VERSIONS.items():
        old = services.document_add_text(kb=kb, title=f"{title} (2023)", text=text)
        assert services.document_ingest(old.pk) == "ingested"
        old_ids[title] = old
    for title, text in knowledge_set.DOCUMENTS.items():
        document = services.document_add_text(kb=kb, title=title, text=text)
        assert services.document_ingest(document.pk) == "ingested"
        if title in old_ids:
            services.document_set_supersedes(document=document, supersedes=old_ids[title])

    found: dict[str, dict[str, list[bool]]] = {"hybrid": {}, "full text": {}}
    superseded_wins = superseded_asked = 0
    latencies = []
    for question_text, title, kind in knowledge_set.QUESTIONS:
        for name, methods in (("hybrid", ("vector", "fulltext")), ("full text", ("fulltext",))):
            t0 = time.perf_counter()
            hits = retrieve([kb.pk], question_text, top_k=QUALITY_TOP_K, methods=methods)
            if name == "hybrid":
                latencies.append((time.perf_counter() - t0) * 1000)
            titles = [hit.document_title for hit in hits]
            for group in (kind, "all"):
                found[name].setdefault(group, []).append(title in titles)
            if name == "hybrid" and title in old_ids:
                superseded_asked += 1
                old_title = f"{title} (2023)"
                if old_title in titles and (title not in titles or titles.index(old_title) < titles.index(title)):
                    superseded_wins += 1

    no_passage = sum(not retrieve([kb.pk], q, top_k=QUALITY_TOP_K) for q in knowledge_set.OFF_TOPIC)

    texts = [
        f"{piece.heading}\n\n{piece.text}" if piece.heading else piece.text
        for text in [*knowledge_set.DOCUMENTS.values(), *knowledge_set.OLD_VERSIONS.values()]
        for piece in chunk.chunk(chunk.normalize(text), size=350, overlap=50)
    ]
    embedder = local_embedder()
    embedder.embed(texts[:8])  # loaded and warm
    batch = (texts * (4000 // len(texts) + 1))[:4000]
    t0 = time.perf_counter()
    for start in range(0, len(batch), BATCH_SIZE):
        embedder.embed(batch[start : start + BATCH_SIZE])
    per_s = len(batch) / (time.perf_counter() - t0)
    recall = {name: {g: sum(v) / len(v) for g, v in groups.items()} for name, groups in found.items()}
    return {
        "recall": recall,
        "counts": {g: len(v) for g, v in found["hybrid"].items()},
        "off_topic_no_passage": no_passage / len(knowledge_set.OFF_TOPIC),
        "off_topic": len(knowledge_set.OFF_TOPIC),
        "superseded_wins": superseded_wins,
        "superseded_asked": superseded_asked,
        "embed_per_s": per_s,
        "latency": latencies,
        "documents": len(knowledge_set.DOCUMENTS) + len(knowledge_set.OLD_VERSIONS),
        "chunks": kb.chunks.count(),
    }


def print_quality(q: dict) -> None:
    print(
        f"\nQuality with the built-in model: {q['documents']} documents ({q['chunks']} chunks), "
        f"{q['counts']['all']} questions, recall@{QUALITY_TOP_K} (right document among the top {QUALITY_TOP_K})"
    )
    print(f"{'questions':<12} | {'n':>3} | {'hybrid':>6} | {'full text':>9}")
    for group in ("words", "paraphrase", "no_overlap", "all"):
        print(
            f"{group:<12} | {q['counts'][group]:>3} | {q['recall']['hybrid'][group]:>6.2f} | "
            f"{q['recall']['full text'][group]:>9.2f}"
        )
    print(
        f"superseded passage above the current one: {q['superseded_wins']} of {q['superseded_asked']} questions"
        f" on superseded topics"
    )
    print(
        f"questions the help center does not cover given no passage: {q['off_topic_no_passage']:.2f} of {q['off_topic']}"
    )
    print(
        f"hybrid search latency p50 {pct(q['latency'], 50):.2f} ms, p95 {pct(q['latency'], 95):.2f} ms; "
        f"built-in model: {q['embed_per_s']:,.0f} chunks/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=None, help="one scale size instead of 10k and 100k; 0: none")
    args = parser.parse_args()
    sizes = SIZES if args.chunks is None else ((args.chunks,) if args.chunks else ())
    with bench_services("retrieval"):
        from tests.fakes.openai_server import FakeOpenAI

        fake = FakeOpenAI().start()
        try:
            os.environ.update({"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake.base_url})
            setup_django()
            q = quality()
            from bots.models import Workspace
            from knowledge.models import Document, KnowledgeBase

            workspace = Workspace.objects.create(name="Bench", slug="bench")
            kb = KnowledgeBase.objects.create(workspace=workspace, name="Bench", embedding_dimension=DIM)
            document = Document.objects.create(kb=kb, source=Document.Source.TEXT, title="Synthetic help center")
            rng = random.Random(7)
            queries = [question(random.Random(1000 + i)) for i in range(QUERIES)]
            results, loaded = {}, 0
            for size in sizes:
                print(f"{size:,} chunks:")
                load(kb, document, loaded, size - loaded, rng)
                loaded = size
                results[size] = measure(kb, queries)
        finally:
            fake.stop()

    print(
        "machine load average (1/5/15 min): {:.1f} / {:.1f} / {:.1f} on {} cores".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    if results:
        print(f"\nHybrid retrieval, top {TOP_K}, {QUERIES} questions, {DIM}-dim vectors (ms)")
        print(f"{'chunks':>9} | {'search':<15} | {'p50':>6} | {'p95':>6}")
        for size, r in results.items():
            for name, samples in r["rows"].items():
                print(f"{size:>9,} | {name:<15} | {pct(samples, 50):>6.2f} | {pct(samples, 95):>6.2f}")
        for size, r in results.items():
            print(
                f"recall@{RECALL_K} of HNSW vs exact at {size:,}: {r['recall']:.3f} (planner uses HNSW: {r['uses_hnsw']})"
            )
    print_quality(q)
    headline = {}
    for size, r in results.items():
        label = f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"
        headline[f"hybrid_p95_ms_{label}"] = round(pct(r["rows"]["hybrid, HNSW"], 95), 2)
        headline[f"hnsw_recall_{label}"] = round(r["recall"], 3)
    headline |= {
        "recall_at_5_local": round(q["recall"]["hybrid"]["all"], 3),
        "no_overlap_recall_at_5_local": round(q["recall"]["hybrid"]["no_overlap"], 3),
        "superseded_wins": q["superseded_wins"],
        "off_topic_no_passage_local": round(q["off_topic_no_passage"], 2),
        "embed_chunks_per_s_local": round(q["embed_per_s"], 1),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
