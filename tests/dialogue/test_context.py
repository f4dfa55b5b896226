"""Context control: the sliding window with a summary of what slid out, and the token budget."""

from __future__ import annotations

from bots.schema import PromptSpec
from dialogue import prompting, tokens
from dialogue.state import SessionState
from tests.dialogue.conftest import Talk, demo_snapshot


def test_old_turns_are_summarised_and_the_window_slides(acme_bot, tool_server, fake_openai):
    snapshot = demo_snapshot(tool_server).model_copy(update={"history_turns": 2})
    talk = Talk(acme_bot, snapshot)
    for i in range(8):
        talk.say(f"question number {i} about returns")
    summaries = [r for r in fake_openai.chat_requests() if r["body"]["messages"][0]["content"].startswith("Summarise")]
    assert summaries and "question number 0" in summaries[0]["body"]["messages"][1]["content"]
    last = fake_openai.chat_requests()[-1]["body"]["messages"]
    assert "Earlier in this conversation:" in last[0]["content"]
    assert len(last) <= 1 + 2 * 2 + 1  # system, the window, the new question
    assert last[-1]["content"] == "question number 7 about returns"


def test_every_request_fits_the_token_budget():
    prompt = PromptSpec(name="p", system="You are helpful.")
    state = SessionState(history=[{"role": "user", "content": "blah " * 3000} for _ in range(10)])
    messages, _ = prompting.build(prompt, state, mode="chat", chunks=[], canary="c", window=10)
    assert tokens.count_messages(messages) <= prompting.CONTEXT_BUDGET
    assert messages[0]["role"] == "system" and messages[-1]["content"].startswith("blah")


def test_token_counts_are_openais():
    # o200k_base, as tiktoken counts it for gpt-4o models.
    assert tokens.count("Hello world, how are you doing today?", "gpt-4o-mini") == 9
