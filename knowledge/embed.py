"""Embedding providers, registered by the `KnowledgeBase.embedding_provider` string.

`embedder_for(kb)` returns None when the knowledge base has no usable provider (provider
"none", or "openai" with no API key configured): its documents are then indexed for
full-text search only, and retrieval falls back to it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

from django.conf import settings

BATCH_SIZE = 64  # texts per request: well under every provider's input limit for ~350-token chunks


class EmbeddingError(Exception):
    """The provider failed; the message is fit to show a builder."""


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> list[list[float]]: ...


PROVIDERS: dict[str, Callable[..., Embedder | None]] = {}


def provider(name: str):
    def register(factory):
        PROVIDERS[name] = factory
        return factory

    return register


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout: float, retries: int):
    """One client per configuration: building one loads the TLS trust store (~80 ms)."""
    from openai import OpenAI

    return OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=retries)


class OpenAIEmbedder:
    """Any OpenAI-compatible /embeddings endpoint, through the SDK and settings.OPENAI_BASE_URL."""

    def __init__(self, model: str, dimension: int, *, interactive: bool = False):
        self.model = model
        self.dimension = dimension
        # A question is embedded while someone waits (voice allows 200 ms for all of retrieval):
        # fail fast and fall back to full text. Ingestion can afford patience.
        timeout, retries = (3, 0) if interactive else (30, 2)
        self.client = _client(settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, timeout, retries)

    def embed(self, texts: list[str]) -> list[list[float]]:
        import openai

        # Only the text-embedding-3 family accepts `dimensions`; others reject the parameter.
        extra = {"dimensions": self.dimension} if self.model.startswith("text-embedding-3") else {}
        try:
            response = self.client.embeddings.create(model=self.model, input=texts, **extra)
        except openai.APIStatusError as exc:
            raise EmbeddingError(
                f"The embeddings service refused the request (HTTP {exc.status_code}). "
                "Check the model name and API key, then ingest again."
            )
        except openai.APIError:
            raise EmbeddingError("The embeddings service could not be reached. Try ingesting again in a minute.")
        vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        if len(vectors) != len(texts):
            raise EmbeddingError("The embeddings service returned fewer vectors than texts sent.")
        for vector in vectors:
            if len(vector) != self.dimension:
                raise EmbeddingError(
                    f"The model “{self.model}” returns vectors of {len(vector)} numbers, but this knowledge base "
                    f"is set to {self.dimension}. Change the knowledge base's dimension and ingest again."
                )
        return vectors


@provider("openai")
def _openai(model: str, dimension: int, *, interactive: bool = False) -> Embedder | None:
    if not settings.OPENAI_API_KEY:
        return None
    return OpenAIEmbedder(model, dimension, interactive=interactive)


@provider("local")
@lru_cache(maxsize=4)  # loading a model takes seconds and hundreds of MB: once per process
def _local(model: str, dimension: int, *, interactive: bool = False) -> Embedder | None:
    """sentence-transformers, an optional extra (`pip install sentence-transformers`): absent = full text only."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None

    class LocalEmbedder:
        def __init__(self):
            self.model = SentenceTransformer(model)

        def embed(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, v)) for v in self.model.encode(texts, normalize_embeddings=True)]

    return LocalEmbedder()


@provider("none")
def _none(model: str, dimension: int, *, interactive: bool = False) -> Embedder | None:
    return None


def embedder_for(kb) -> Embedder | None:
    return PROVIDERS[kb.embedding_provider](kb.embedding_model, kb.embedding_dimension)


@lru_cache(maxsize=2048)
def _cached_query_vector(provider_name: str, model: str, dimension: int, base_url: str | None, query: str):
    embedder = PROVIDERS[provider_name](model, dimension, interactive=True)
    return None if embedder is None else tuple(embedder.embed([query])[0])


def query_vector(kb, query: str) -> list[float] | None:
    """The query's vector for this knowledge base's model; repeated questions skip the network.
    Raises `EmbeddingError` when the provider fails (failures are not cached)."""
    vector = _cached_query_vector(
        kb.embedding_provider, kb.embedding_model, kb.embedding_dimension, settings.OPENAI_BASE_URL, query
    )
    return None if vector is None else list(vector)
