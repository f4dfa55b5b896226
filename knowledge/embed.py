"""Embedding providers, registered by the `KnowledgeBase.embedding_provider` string.

`embedding_choice(kb)` says which model really embeds a knowledge base: the OpenAI-compatible
endpoint when one is configured, otherwise the built-in model (WordLlama's static token
embeddings, whose weights ship inside the `wordllama` wheel: nothing is downloaded, it runs on
the CPU at thousands of chunks a second). Only provider "none" means full-text search alone.
Chunks record the dimension they were embedded with, so a knowledge base whose documents were
embedded by the built-in model keeps answering after an API key is configured, until "Ingest
again" re-embeds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from django.conf import settings

BATCH_SIZE = 64  # texts per request: well under every provider's input limit for ~350-token chunks
LOCAL_MODEL = "wordllama-l2-supercat"
LOCAL_DIMENSION = 256


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


class LocalEmbedder:
    """The built-in model: average of static token vectors, L2-normalised (cosine = dot product)."""

    def __init__(self):
        import wordllama
        from wordllama import WordLlama

        # The package looks for its files under `cache_dir`; pointing it at its own folder (where
        # the wheel put weights and tokenizer) and forbidding downloads keeps it offline.
        self.model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)

    def embed(self, texts: list[str]) -> list[list[float]]:
        # An all-whitespace text pools to a zero vector; a space token keeps the division finite.
        return self.model.embed([t if t.strip() else " ." for t in texts], norm=True).tolist()


@lru_cache(maxsize=1)  # the weights are 16 MB: loaded once per process
def local_embedder() -> LocalEmbedder:
    return LocalEmbedder()


@provider("local")
def _local(model: str, dimension: int, *, interactive: bool = False) -> Embedder | None:
    return local_embedder()


@provider("none")
def _none(model: str, dimension: int, *, interactive: bool = False) -> Embedder | None:
    return None


@dataclass(frozen=True)
class EmbeddingChoice:
    provider: str
    model: str
    dimension: int


def embedding_choice(kb) -> EmbeddingChoice | None:
    """The model that embeds this knowledge base now: its endpoint when an API key is set, the
    built-in model otherwise (or when chosen); None for full-text-only knowledge bases."""
    if kb.embedding_provider == "none":
        return None
    if kb.embedding_provider == "openai" and settings.OPENAI_API_KEY:
        return EmbeddingChoice("openai", kb.embedding_model, kb.embedding_dimension)
    return EmbeddingChoice("local", LOCAL_MODEL, LOCAL_DIMENSION)


def embedder_for(kb) -> Embedder | None:
    choice = embedding_choice(kb)
    return None if choice is None else PROVIDERS[choice.provider](choice.model, choice.dimension)


@lru_cache(maxsize=2048)
def _cached_query_vector(provider_name: str, model: str, dimension: int, base_url: str | None, query: str):
    embedder = PROVIDERS[provider_name](model, dimension, interactive=True)
    return None if embedder is None else tuple(embedder.embed([query])[0])


def query_vector(choice: EmbeddingChoice, query: str) -> list[float] | None:
    """The query's vector for this model; repeated questions skip the network.
    Raises `EmbeddingError` when the provider fails (failures are not cached)."""
    vector = _cached_query_vector(choice.provider, choice.model, choice.dimension, settings.OPENAI_BASE_URL, query)
    return None if vector is None else list(vector)
