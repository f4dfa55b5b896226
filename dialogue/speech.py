"""Voice mode: spoken-language prompt rules, markdown stripping, sentence boundaries."""

from __future__ import annotations

import re

VOICE_RULES = (
    "\n\nYou are speaking on the phone. Answer in plain spoken language: short sentences, no markdown, "
    "no lists, no emojis, no URLs read out. Spell numbers as words when they are spoken naturally. "
    "Ask one question at a time."
)

_MARKDOWN = [
    (re.compile(r"```.*?```", re.DOTALL), " "),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[\d+\]"), ""),  # citation markers are for screens
    (re.compile(r"(\*\*|__|\*|_|~~)(\S(?:.*?\S)?)\1"), r"\2"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),
    (re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.MULTILINE), ""),
    (re.compile(r"^\s*>\s?", re.MULTILINE), ""),
    (re.compile(r"[ \t]{2,}"), " "),
]


def strip_markdown(text: str) -> str:
    for pattern, repl in _MARKDOWN:
        text = pattern.sub(repl, text)
    return text


# A sentence ends at . ! ? … (optionally followed by quotes, brackets, closing markdown) and whitespace, or at a
# newline. "e.g." and "Dr." style abbreviations and decimals ("3.5") do not end sentences.
_BOUNDARY = re.compile(
    r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bMs)[.!?…]+[\"')\]*_]*\s+|\n+"
)


class SentenceSplitter:
    """Feed streamed text; get each sentence back as soon as it is complete."""

    def __init__(self):
        self._buffer = ""

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        sentences = []
        while True:
            m = _BOUNDARY.search(self._buffer)
            if not m:
                break
            sentence = self._buffer[: m.end()].strip()
            self._buffer = self._buffer[m.end() :]
            if sentence:
                sentences.append(sentence)
        return sentences

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []
