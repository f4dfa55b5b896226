"""Grounding answers in the bot's knowledge bases: retrieval and citations (the passages go into
the request fenced as data: `prompting.data_blocks`).

Retrieval itself is `knowledge.retrieval.retrieve` (sync, hybrid search).
"""

from __future__ import annotations

import functools
import re

from conversations.redaction import Redacted, redact
from dialogue.db import db
from dialogue.events import Citation

TOP_K = 4
PASSAGE_CHARS = 700
# Closeness (cosine, built-in model) from which a passage is given as the answer rather than as
# the closest find: the median of paraphrased questions to their passage is 0.37, questions about
# things the help center does not cover stay under 0.3 (bench/retrieval.py).
CONFIDENT_SIMILARITY = 0.3
TRACE_CHARS = 300  # of each passage, in the turn's trace


@db
def _search(kb_ids: list[int], query: str, top_k: int) -> list:
    from knowledge.embed import EmbeddingError
    from knowledge.retrieval import retrieve as hybrid_retrieve

    try:
        return hybrid_retrieve(kb_ids, query, top_k=top_k)
    except EmbeddingError:
        # The embeddings provider is down: full-text search still finds the words.
        return hybrid_retrieve(kb_ids, query, top_k=top_k, methods=("fulltext",))


async def retrieve(kb_ids: list[int], query: str, top_k: int = TOP_K) -> list:
    """The best passages, searched off the event loop (the query embedding is a network call)."""
    if not kb_ids or not query.strip():
        return []
    return await _search(kb_ids, query, top_k)


def trace_entry(chunk) -> dict:
    """A retrieved passage as the turn's trace records it (redacted, as all of a trace is)."""
    title, heading, text = _redacted(chunk.document_title, chunk.heading, chunk.text[:TRACE_CHARS])
    return {"title": title, "heading": heading, "score": chunk.score, "text": text}


@functools.lru_cache(maxsize=4096)
def _redacted(*texts: str) -> tuple[Redacted, ...]:
    # The same passages come back turn after turn: each is searched for PII once per process, not
    # every time a trace stores it (four passages were ~0.7 ms of a turn's CPU). They are the
    # knowledge base's text, stored as it is, so keeping them here holds nobody's conversation.
    return tuple(Redacted(redact(t)) for t in texts)


def citations_in(text: str, chunks: list) -> list[Citation]:
    """The passages the answer cites by number, in order of first citation."""
    seen: list[int] = []
    for m in re.finditer(r"\[(\d{1,2})\]", text):
        n = int(m.group(1))
        if 1 <= n <= len(chunks) and n not in seen:
            seen.append(n)
    return [
        Citation(
            index=n, title=chunks[n - 1].document_title, url=chunks[n - 1].source_url, heading=chunks[n - 1].heading
        )
        for n in seen
    ]


def extractive_answer(chunks: list) -> str | None:
    """Without an LLM: the best passage, quoted and cited. Said as the answer when the evidence is
    strong (every word of the question in it, or close in meaning); otherwise offered as the
    closest find, with the way to a person."""
    if not chunks:
        return None
    best = chunks[0]
    passage = " ".join(best.text.split())[:PASSAGE_CHARS]
    if best.every_term or (best.similarity or 0) >= CONFIDENT_SIMILARITY:
        return f"Here is what I found in “{best.document_title}”: {passage} [1]"
    return (
        f"I'm not sure this answers it, but the closest I found is in “{best.document_title}”: {passage} [1] "
        "If that's not it, ask for a person."
    )
