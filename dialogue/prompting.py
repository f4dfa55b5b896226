"""The messages of an LLM request: system prompt, memory, summary, knowledge, the recent window.

The system prompt is always its own message (users cannot write into it). The request is held
to a hard token budget, counted with the model's encoding: oldest turns go first, then the
knowledge passages are shortened; the user's latest message always stays.
"""

from __future__ import annotations

from bots.schema import PromptSpec
from dialogue import guards, tokens
from dialogue.knowledge import context_block
from dialogue.speech import VOICE_RULES
from dialogue.state import SessionState
from dialogue.templating import render

CONTEXT_BUDGET = 8000  # input tokens per request, whatever the model's window


def memory_block(memory: dict) -> str:
    facts = "; ".join(f"{k}: {v}" for k, v in memory.items() if v not in (None, ""))
    return f"\n\nWhat we know about this person from earlier conversations: {facts}." if facts else ""


def system_text(prompt: PromptSpec, state: SessionState, *, mode: str, chunks: list, canary: str) -> str:
    text = render(prompt.system, state.slots)
    if mode == "voice":
        text += VOICE_RULES
    text += memory_block(state.memory)
    if state.summary:
        text += f"\n\nEarlier in this conversation: {state.summary}"
    if state.slots:
        text += "\n\nKnown details: " + "; ".join(f"{k}: {v}" for k, v in state.slots.items())
    text += context_block(chunks)
    return text + guards.canary_instruction(canary)


def _fits(messages: list[dict], model: str) -> bool:
    # A token is at least one byte: short requests fit without running the tokenizer.
    size = sum(len(str(m.get("content") or "").encode()) + 8 for m in messages)
    return size <= CONTEXT_BUDGET or tokens.count_messages(messages, model) <= CONTEXT_BUDGET


def build(
    prompt: PromptSpec, state: SessionState, *, mode: str, chunks: list, canary: str, window: int
) -> tuple[list[dict], str]:
    """(messages, system text). History already ends with the user's latest message."""
    history = [dict(m) for m in state.history[-window * 2 :]]
    while True:
        system = system_text(prompt, state, mode=mode, chunks=chunks, canary=canary)
        messages = [{"role": "system", "content": system}, *history]
        if _fits(messages, prompt.model) or not history[-1]["content"]:
            return messages, system
        if len(history) > 1:
            history.pop(0)
        elif chunks:
            chunks = chunks[:-1]
        else:
            history[-1]["content"] = history[-1]["content"][: len(history[-1]["content"]) // 2]
