"""Normalise extracted text and cut it into chunks by structure, to a token budget with overlap.

Sections (text under one heading path) are never merged, so a chunk answers about one thing
and carries its heading for the citation. Inside a section, paragraphs are packed up to the
budget; a paragraph that is too long is split by sentences (then by words). Each chunk after
the first in a section starts with the last `overlap` tokens of the previous one, so a fact
that straddles a cut is still whole in one chunk. Tokens are counted with OpenAI's cl100k
tokenizer (bpe-openai, offline), the one the text-embedding-3 models use.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Control and invisible format characters (zero-width spaces, soft hyphens, BOM), but not \t or \n.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u200b-\u200f\u2028\u2029\u2060\ufeff]")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=\S)")
HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class Piece:
    heading: str
    text: str
    tokens: int


@cache
def _encoding():
    import bpe_openai

    return bpe_openai.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode_ordinary(text))


def normalize(text: str) -> str:
    """NFKC, one kind of newline, no control characters, no trailing spaces, at most one blank line."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = INVISIBLE.sub("", text)
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)  # words hyphenated across PDF lines
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading path, paragraphs) in document order."""
    path: list[tuple[int, str]] = []
    sections: list[tuple[str, list[str]]] = [("", [])]
    for block in re.split(r"\n\s*\n", text):
        lines = block.split("\n")
        paragraph: list[str] = []
        for line in lines:
            match = HEADING.match(line)
            if not match:
                paragraph.append(line)
                continue
            if paragraph:
                sections[-1][1].append(" ".join(paragraph))
                paragraph = []
            level = len(match.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, match.group(2))]
            sections.append((HEADING_SEPARATOR.join(title for _, title in path), []))
        if paragraph:
            # Single newlines inside a paragraph are layout (PDF lines), not structure.
            sections[-1][1].append(" ".join(line for line in paragraph if line))
    return [(heading, paras) for heading, paras in sections if paras]


def _split_long(paragraph: str, budget: int) -> list[str]:
    """Pieces of at most `budget` tokens: whole sentences where possible, else runs of words."""
    out: list[str] = []
    for sentence in SENTENCE_END.split(paragraph):
        if count_tokens(sentence) <= budget:
            out.append(sentence)
            continue
        words = sentence.split(" ")
        current: list[str] = []
        for word in words:
            if current and count_tokens(" ".join([*current, word])) > budget:
                out.append(" ".join(current))
                current = []
            current.append(word)
        if current:
            out.append(" ".join(current))
    return out


def _tail(text: str, tokens: int) -> str:
    """The last `tokens` tokens of `text`, starting at a word boundary."""
    if tokens <= 0:
        return ""
    ids = _encoding().encode_ordinary(text)
    if len(ids) <= tokens:
        return text
    tail = _encoding().decode(ids[-tokens:])
    return tail.split(" ", 1)[1] if " " in tail else tail


def chunk(text: str, *, size: int, overlap: int) -> list[Piece]:
    if size < 20:
        raise ValueError("chunk size must be at least 20 tokens")
    overlap = min(overlap, size // 2)
    pieces: list[Piece] = []
    for heading, paragraphs in _sections(text):
        # (separator before it, text): pieces of one long paragraph rejoin with a space.
        units: list[tuple[str, str]] = []
        for paragraph in paragraphs:
            parts = [paragraph] if count_tokens(paragraph) <= size else _split_long(paragraph, size - overlap)
            units.extend(("\n\n" if i == 0 else " ", part) for i, part in enumerate(parts))
        body, body_tokens = "", 0
        for separator, unit in units:
            unit_tokens = count_tokens(unit)
            if body and body_tokens + unit_tokens > size:
                pieces.append(Piece(heading, body, count_tokens(body)))
                body = _tail(body, overlap)
                body_tokens = count_tokens(body)
            body = f"{body}{separator}{unit}" if body else unit
            body_tokens += unit_tokens
        if body:
            pieces.append(Piece(heading, body, count_tokens(body)))
    return pieces
