"""The messages of an LLM request: system prompt, memory, summary, knowledge, the recent window.

The system prompt is always its own message (users cannot write into it). Only the builder's
instructions are instructions: memory facts, the summary, slot values and knowledge passages
(and tool results, in `answer.py`) travel fenced as labelled data, with role prefixes, chat
tokens and marker look-alikes neutralised, under a per-request nonce no content can guess.
Slot values a builder templates into the prompt are neutralised and kept to one short line.

The request is held to a hard token budget, counted with the model's encoding: oldest turns go first, then the
knowledge passages are shortened; the user's latest message always stays.
"""

from __future__ import annotations

from bots.schema import PromptSpec
from dialogue import guards, tokens
from dialogue.knowledge import PASSAGE_CHARS
from dialogue.speech import VOICE_RULES
from dialogue.state import SessionState
from dialogue.templating import render

CONTEXT_BUDGET = 8000  # input tokens per request, whatever the model's window


KNOWLEDGE_RULE = (
    "\n\nAnswer from the numbered passages below when they are relevant and cite the number in square "
    "brackets. If they do not contain the answer, say you don't know."
)
# The bot has knowledge, and none of it matched: a question about the business is not to be
# answered from the model's own idea of it.
NO_PASSAGE_RULE = (
    "\n\nNothing in the knowledge base matches this message. If it asks about the business, its "
    "products or its policies, say you don't know and offer to connect a person; do not guess."
)


def instructions(prompt: PromptSpec, state: SessionState, *, mode: str) -> str:
    """What the builder wrote (and the voice rules): the only text the model is told to follow,
    and the text the leak guard protects."""
    text = render(prompt.system, {k: _inline(v) for k, v in state.slots.items()})
    return text + VOICE_RULES if mode == "voice" else text


def _inline(value):
    if not isinstance(value, str):
        return value
    return " ".join(guards.neutralise(value).split())[:200]


def data_blocks(state: SessionState, chunks: list, nonce: str) -> str:
    """Everything that came from outside the builder, fenced and labelled as data."""
    parts = []
    facts = "; ".join(f"{k}: {v}" for k, v in state.memory.items() if v not in (None, ""))
    if facts:
        parts.append(
            "What we know about this person from earlier conversations:\n" + guards.fence("memory", facts, nonce)
        )
    if state.summary:
        parts.append("Earlier in this conversation:\n" + guards.fence("summary", state.summary, nonce))
    if state.slots:
        known = "; ".join(f"{k}: {v}" for k, v in state.slots.items())
        parts.append("Known details:\n" + guards.fence("details", known, nonce))
    if chunks:
        passages = "\n".join(
            f"[{i}] {' '.join(c.text.split())[:PASSAGE_CHARS]}\n"
            f"(source: {c.document_title}{' — ' + c.heading if c.heading else ''})"
            for i, c in enumerate(chunks, 1)
        )
        parts.append("Passages:\n" + guards.fence("knowledge", passages, nonce))
    return "".join("\n\n" + p for p in parts)


def system_text(
    prompt: PromptSpec, state: SessionState, *, mode: str, chunks: list, canary: str, nonce: str, searched: bool = False
) -> str:
    text = instructions(prompt, state, mode=mode) + guards.fence_rule(nonce)
    if chunks:
        text += KNOWLEDGE_RULE
    elif searched:
        text += NO_PASSAGE_RULE
    return text + data_blocks(state, chunks, nonce) + guards.canary_instruction(canary)


def _fits(messages: list[dict], model: str) -> bool:
    # A token is at least one byte: short requests fit without running the tokenizer.
    size = sum(len(str(m.get("content") or "").encode()) + 8 for m in messages)
    return size <= CONTEXT_BUDGET or tokens.count_messages(messages, model) <= CONTEXT_BUDGET


def build(
    prompt: PromptSpec,
    state: SessionState,
    *,
    mode: str,
    chunks: list,
    canary: str,
    window: int,
    nonce: str = "",
    searched: bool = False,
) -> tuple[list[dict], str]:
    """(messages, the instructions the leak guard protects). History already ends with the
    user's latest message; `nonce` names this request's fences (tool results use it too);
    `searched`: the bot's knowledge was searched for this message (`chunks` is what matched)."""
    history = [dict(m) for m in state.history[-window * 2 :]]
    while True:
        system = system_text(prompt, state, mode=mode, chunks=chunks, canary=canary, nonce=nonce, searched=searched)
        messages = [{"role": "system", "content": system}, *history]
        if _fits(messages, prompt.model) or not history[-1]["content"]:
            return messages, instructions(prompt, state, mode=mode)
        if len(history) > 1:
            history.pop(0)
        elif chunks:
            chunks = chunks[:-1]
        else:
            history[-1]["content"] = history[-1]["content"][: len(history[-1]["content"]) // 2]
