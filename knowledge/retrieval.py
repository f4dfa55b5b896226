"""Hybrid retrieval: the one function the dialogue engine calls to ground an answer.

Two ranked lists, fused by reciprocal rank fusion (score = Σ 1 / (60 + rank), Cormack et al.):

* full text — `websearch_to_tsquery` over the generated `search` column (GIN). A question
  rarely shares *every* word with its answer, so chunks matching all terms rank first and
  chunks matching some terms follow (from a bounded sample, see `_FULLTEXT_SQL`) with half
  the weight, each ordered by `ts_rank_cd`;
* vectors — cosine nearest neighbours through the per-dimension HNSW index, one query per
  embedding model among the knowledge bases asked for (usually one).

Knowledge bases without embeddings (provider "none") are searched by full text alone. The
query embedding is the only possible network call; repeated questions reuse it (see embed).

Passages of a document that another one supersedes are ranked after every current passage
found: an outdated policy may still answer when nothing current does, but never first.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from config import telemetry
from knowledge.embed import (
    LOCAL_DIMENSION,
    LOCAL_MODEL,
    EmbeddingChoice,
    EmbeddingError,
    embedding_choice,
    query_vector,
)
from knowledge.models import SUPPORTED_DIMENSIONS, TEXT_SEARCH_CONFIG, KnowledgeBase

logger = logging.getLogger(__name__)

RRF_K = 60
CANDIDATES = 40  # per method, before fusion
# Cosine distance 0.95 = similarity 0.05: the vectors share nothing. Real embedding models put
# even unrelated texts well above that, so this only drops neighbours that are pure noise.
MAX_DISTANCE = 0.95
# The built-in model's vectors are sparser: questions about something the help center does not
# cover ("what is the capital of France?") sit at similarity 0.08–0.15 from every passage, while
# nine in ten questions worded like or paraphrasing their answer are above 0.2 (bench/retrieval.py).
# Below this a neighbour is not evidence, and a question nothing else matches gets no passage.
LOCAL_MAX_DISTANCE = 0.85
# pgvector's default 40 loses recall once results are filtered by knowledge base; set on every
# new database connection (knowledge/apps.py).
HNSW_EF_SEARCH = 100
METHODS = ("vector", "fulltext")
SEARCHES = 2  # a second search when a re-ingestion swapped chunks while the first ran


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: int
    text: str
    document_title: str
    source_url: str  # the page's URL, or the uploaded file's name
    heading: str
    score: float
    methods: tuple[str, ...]  # which searches found it: "vector", "fulltext"
    similarity: float | None = None  # cosine similarity to the question, when found by meaning
    every_term: bool = False  # full text found every word of the question in it


# Interpolated values are module constants and a checked int, never user input.
#
# Chunks with every term first, then (when fewer than `n`) chunks with some of the terms. Any of
# the terms: ranking every match of common words costs ~1 s at 100k chunks, so only a sample of
# SOME_TERMS_SAMPLE matches is ranked. Exact for small knowledge bases; for large ones the
# vector search carries the meaning and this list adds word overlap. One statement: each round
# trip costs a turn more CPU than the search itself on a small knowledge base.
_FULLTEXT_SQL = f"""
WITH q AS (SELECT websearch_to_tsquery('{TEXT_SEARCH_CONFIG}', %(q)s) AS every_term),
all_terms AS (
    SELECT c.id, ts_rank_cd(c.search, q.every_term) AS rank
    FROM knowledge_chunk c, q
    WHERE c.kb_id = ANY(%(kbs)s) AND c.search @@ q.every_term
    ORDER BY rank DESC, c.id
    LIMIT %(n)s
),
some_terms AS (
    SELECT m.id, m.rank FROM (
        SELECT c.id, ts_rank_cd(c.search, a.some_term) AS rank
        FROM knowledge_chunk c,
             (SELECT CAST(replace(CAST(every_term AS text), ' & ', ' | ') AS tsquery) AS some_term FROM q) a
        WHERE c.kb_id = ANY(%(kbs)s) AND c.search @@ a.some_term AND c.id NOT IN (SELECT id FROM all_terms)
        LIMIT %(sample)s
    ) m
    ORDER BY m.rank DESC, m.id
    LIMIT GREATEST(%(n)s - (SELECT count(*) FROM all_terms), 0)
)
SELECT 0 AS part, id, rank FROM all_terms
UNION ALL
SELECT 1, id, rank FROM some_terms
ORDER BY part, rank DESC, id
"""  # noqa: S608
SOME_TERMS_SAMPLE = 300
# A chunk sharing one word of a long question is weak evidence next to one sharing all of them
# or one close in meaning: on the labelled set (bench/retrieval.py), counting such partial
# matches fully let them crowd out the right passage for questions worded unlike it.
SOME_TERMS_WEIGHT = 0.5


def _vector_sql(dim: int, max_distance: float) -> str:
    assert dim in SUPPORTED_DIMENSIONS  # the cast must match a partial index's expression exactly
    return f"""
SELECT c.id, c.embedding::vector({dim}) <=> CAST(%(q)s AS vector({dim})) AS distance
FROM knowledge_chunk c
WHERE c.embedding_dim = {dim} AND c.kb_id = ANY(%(kbs)s)
  AND c.embedding::vector({dim}) <=> CAST(%(q)s AS vector({dim})) < {float(max_distance)}
ORDER BY c.embedding::vector({dim}) <=> CAST(%(q)s AS vector({dim}))
LIMIT %(n)s
"""  # noqa: S608


# The best `top_k` of the fused candidates (in fused order, `pos`) with their text; passages of a
# superseded document after every current one.
_BEST_SQL = """
SELECT c.id, c.text, c.heading, d.title, COALESCE(NULLIF(d.url, ''), NULLIF(d.file_name, ''), d.title)
FROM unnest(CAST(%(ids)s AS bigint[])) WITH ORDINALITY AS f(id, pos)
JOIN knowledge_chunk c ON c.id = f.id
JOIN knowledge_document d ON d.id = c.document_id
ORDER BY EXISTS (SELECT 1 FROM knowledge_document n WHERE n.supersedes_id = c.document_id), f.pos
LIMIT %(k)s
"""


# The knowledge bases searched by meaning, with what their embedding model is worked out from: a
# statement of its own rather than the ORM, whose query building cost more than the search itself.
_EMBEDDED_SQL = """
SELECT id, embedding_provider, embedding_model, embedding_dimension FROM knowledge_knowledgebase
WHERE id = ANY(%(kbs)s) AND embedding_provider <> 'none'
"""


@telemetry.traced("retrieval", lambda ids, *a, **k: {"switchboard.knowledge_base_ids": list(ids)})
def retrieve(
    knowledge_base_ids: list[int], query: str, *, top_k: int = 5, methods: tuple[str, ...] = METHODS
) -> list[RetrievedChunk]:
    """The `top_k` chunks of these knowledge bases that best answer `query`, best first."""
    query = query.strip()
    if not query or not knowledge_base_ids or top_k <= 0:
        return []
    kb_ids = list(knowledge_base_ids)
    with connection.cursor() as cur:
        for _attempt in range(SEARCHES):
            rankings: list[tuple[str, list[int], list[float]]] = []  # (method, ids best first, weights)
            every, similarity = [], {}
            if "fulltext" in methods:
                every, some = _fulltext_ranking(cur, kb_ids, query)
                rankings.append(("fulltext", every + some, [1.0] * len(every) + [SOME_TERMS_WEIGHT] * len(some)))
            if "vector" in methods:
                similarity = _vector_ranking(cur, kb_ids, query)
                rankings.append(("vector", list(similarity), [1.0] * len(similarity)))
            fused = {chunk_id: (score, found_by) for chunk_id, score, found_by in _fuse(rankings)}
            if not fused:
                return []
            cur.execute(_BEST_SQL, {"ids": list(fused), "k": top_k})
            best = cur.fetchall()
            # Each statement sees what was committed when it began: chunks found by the first but
            # gone by the last were swapped by a document's re-ingestion in between. Its new
            # chunks are there now, so a second search finds them.
            if len(best) == min(top_k, len(fused)):
                break
    return [
        RetrievedChunk(
            chunk_id=chunk_id,
            text=text,
            heading=heading,
            document_title=title,
            source_url=source,
            score=round(fused[chunk_id][0], 6),
            methods=fused[chunk_id][1],
            similarity=similarity.get(chunk_id),
            every_term=chunk_id in every,
        )
        for chunk_id, text, heading, title, source in best
    ]


def _fulltext_ranking(cur, kb_ids: list[int], query: str) -> tuple[list[int], list[int]]:
    """Chunks with every term (websearch syntax: "phrases", -exclusions), and chunks with some."""
    cur.execute(_FULLTEXT_SQL, {"q": query, "kbs": kb_ids, "n": CANDIDATES, "sample": SOME_TERMS_SAMPLE})
    rows = cur.fetchall()
    return [row[1] for row in rows if row[0] == 0], [row[1] for row in rows if row[0] == 1]


def _vector_ranking(cur, kb_ids: list[int], query: str) -> dict[int, float]:
    """Chunk id → cosine similarity, best first (by rank within each model)."""
    groups: dict[EmbeddingChoice, list[int]] = defaultdict(list)
    cur.execute(_EMBEDDED_SQL, {"kbs": kb_ids})
    for pk, provider, model, dimension in cur.fetchall():
        kb = KnowledgeBase(pk=pk, embedding_provider=provider, embedding_model=model, embedding_dimension=dimension)
        groups[embedding_choice(kb)].append(pk)
    if not groups:
        return {}
    for choice, ids in list(groups.items()):
        if choice.provider != "local" and choice.dimension != LOCAL_DIMENSION:
            # Documents the built-in model embedded before an API key was set keep its vectors
            # until "Ingest again" (docs/knowledge.md): their chunks are searched with it too.
            groups[EmbeddingChoice("local", LOCAL_MODEL, LOCAL_DIMENSION)] += ids
    # (rank within its model, chunk id, similarity): models' distances do not compare.
    scored: list[tuple[int, int, float]] = []
    for choice, ids in groups.items():
        dim = choice.dimension
        try:
            vector = query_vector(choice, query)
        except EmbeddingError:
            # An embeddings outage must not cost the answer: full text still finds it.
            logger.warning("query embedding failed; answering from full-text search only")
            continue
        if vector is None:
            continue
        max_distance = LOCAL_MAX_DISTANCE if choice.provider == "local" else MAX_DISTANCE
        cur.execute(_vector_sql(dim, max_distance), {"kbs": ids, "q": _literal(vector), "n": CANDIDATES})
        scored.extend((rank, chunk_id, 1 - distance) for rank, (chunk_id, distance) in enumerate(cur.fetchall()))
    return {chunk_id: similarity for _, chunk_id, similarity in sorted(scored)}


def _literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{v:.7g}" for v in vector) + "]"


def _fuse(rankings: list[tuple[str, list[int], list[float]]]) -> list[tuple[int, float, tuple[str, ...]]]:
    scores: dict[int, float] = defaultdict(float)
    found: dict[int, list[str]] = defaultdict(list)
    for method, ids, weights in rankings:
        for rank, (chunk_id, weight) in enumerate(zip(ids, weights, strict=True), start=1):
            scores[chunk_id] += weight / (RRF_K + rank)
            found[chunk_id].append(method)
    order = sorted(scores, key=lambda cid: (-scores[cid], cid))
    return [(cid, scores[cid], tuple(m for m in METHODS if m in found[cid])) for cid in order]
