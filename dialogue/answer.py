"""An LLM answer within a turn: retrieval, the request, streaming, tools, citations, guards.

Streams text deltas as the model writes them (sentences too, in voice mode), runs the tools
the model calls — in parallel, at most `MAX_TOOL_ROUNDS` rounds — and finishes with one
`MessageDone` carrying the citations. When no model answers, the best knowledge passage
(cited) or a plain apology is said instead; with no LLM configured at all, the same.
"""

from __future__ import annotations

import asyncio
import json
import time

from bots.schema import PromptSpec
from dialogue import guards, knowledge, prompting, randomness
from dialogue.events import MessageDone, SentenceEnd, TextDelta, ToolFinished, ToolStarted
from dialogue.gateway import Completion, LlmUnavailable
from dialogue.holdback import Holdback
from dialogue.speech import SentenceSplitter, strip_markdown
from dialogue.tools import ToolResult, openai_schema

MAX_TOOL_ROUNDS = 4
START_FLOW = "start_flow"
CANNOT_ANSWER = "I'm sorry, I can't answer that right now. Could you ask it another way, or ask for a person?"
NOT_FOUND = "I couldn't find that in our help center. Could you ask it another way, or ask for a person?"
CUT_OFF = "Sorry, I was cut off there."


def _start_flow_tool(flow_names: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": START_FLOW,
            "description": "Start one of these guided flows when the person wants to do that task.",
            "parameters": {
                "type": "object",
                "properties": {"flow": {"type": "string", "enum": flow_names}},
                "required": ["flow"],
            },
        },
    }


class _Output:
    """Turns streamed text into events: deltas, and sentences in voice mode (markdown stripped)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.parts: list[str] = []
        self.splitter = SentenceSplitter() if mode == "voice" else None

    def feed(self, delta: str) -> list:
        if self.splitter is None:
            self.parts.append(delta)
            return [TextDelta(text=delta)]
        events = []
        for sentence in self.splitter.feed(delta):
            events += self._sentence(sentence)
        return events

    def flush(self) -> list:
        if self.splitter is None:
            return []
        return [e for s in self.splitter.flush() for e in self._sentence(s)]

    def _sentence(self, sentence: str) -> list:
        spoken = strip_markdown(sentence).strip()
        if not spoken:
            return []
        text = (" " if self.parts else "") + spoken
        self.parts.append(text)
        return [TextDelta(text=text), SentenceEnd(text=spoken)]

    @property
    def text(self) -> str:
        return "".join(self.parts)


async def answer(turn, prompt: PromptSpec, *, kb_ids: list[int], tool_names: list[str], flow_names: list[str]):
    runtime = turn.runtime
    t0 = time.perf_counter()
    chunks = await runtime.retrieve(kb_ids, turn.text) if kb_ids else []
    turn.timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
    turn.trace["chunks"] = [knowledge.trace_entry(c) for c in chunks]
    out = _Output(turn.mode)
    if not runtime.llm_available:
        for event in out.feed(knowledge.extractive_answer(chunks) or (NOT_FOUND if kb_ids else CANNOT_ANSWER)):
            yield event
        for event in out.flush():
            yield event
        yield _done(turn, out.text, chunks)
        return

    specs = {t.name: t for t in turn.snapshot.tools if t.name in tool_names}
    tools = [openai_schema(s) for s in specs.values()]
    if flow_names:
        tools.append(_start_flow_tool(flow_names))
    canary = guards.new_canary()
    nonce = randomness.token_hex(4)
    messages, instructions = prompting.build(
        prompt,
        turn.state,
        mode=turn.mode,
        chunks=chunks,
        canary=canary,
        window=turn.snapshot.history_turns,
        nonce=nonce,
        searched=bool(kb_ids),
    )
    # Model text goes out only once the leak guard has cleared it (see dialogue.holdback).
    gate = Holdback(guards.LeakGuard(instructions, canary))
    models = prompt.models
    t0 = time.perf_counter()
    try:
        for _round in range(MAX_TOOL_ROUNDS + 1):
            completion = Completion()
            allow_tools = tools if _round < MAX_TOOL_ROUNDS else None
            async for item in runtime.gateway.stream(
                messages,
                models=models,
                temperature=prompt.temperature,
                max_tokens=prompt.max_tokens,
                tools=allow_tools,
            ):
                if isinstance(item, Completion):
                    completion = item
                elif released := gate.feed(item):
                    for event in out.feed(released):
                        yield event
                if gate.leaked:
                    break
            if gate.leaked:
                break
            if not completion.tool_calls:
                break
            messages.append(
                {
                    "role": "assistant",
                    "content": completion.text or None,
                    "tool_calls": [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in completion.tool_calls
                    ],
                }
            )
            async for event in _run_calls(turn, completion.tool_calls, specs, flow_names, messages, nonce):
                yield event
            if turn.start_flow:
                break  # the flow speaks next; its end hands back to this llm node
    except LlmUnavailable as exc:
        turn.trace["llm_unavailable"] = str(exc)
        for event in out.feed(gate.finish()):
            yield event
        if exc.partial and not gate.leaked:
            fallback = ("" if out.text.endswith((" ", "\n")) else " ") + CUT_OFF
        else:
            fallback = knowledge.extractive_answer(chunks) or CANNOT_ANSWER
        for event in out.feed(fallback):
            yield event
    turn.timings["llm_ms"] = turn.timings.get("llm_ms", 0) + (time.perf_counter() - t0) * 1000
    for event in out.feed(gate.finish()):
        yield event
    if gate.leaked:
        # What was already sent stays (it was cleared); the refusal follows it, so the stored
        # reply is exactly what the person saw or heard.
        turn.trace["canary_tripped"] = True
        for event in out.feed(("" if not out.text or out.text.endswith((" ", "\n")) else " ") + guards.REFUSAL):
            yield event
    for event in out.flush():
        yield event
    if out.text or not turn.start_flow:
        yield _done(turn, out.text, chunks)


def _done(turn, text: str, chunks: list) -> MessageDone:
    turn.replies.append(text)
    return MessageDone(text=text, citations=knowledge.citations_in(text, chunks))


async def _run_calls(turn, calls, specs, flow_names, messages, nonce: str):
    """Run one round of tool calls concurrently; results go back to the model as fenced data."""
    for call in calls:
        yield ToolStarted(name=call.name, arguments=_args(call.arguments))

    async def one(call) -> ToolResult:
        args = _args(call.arguments)
        if call.name == START_FLOW:
            flow = args.get("flow")
            if flow in flow_names:
                turn.start_flow = flow
                return ToolResult(True, f"Started the flow {flow}.")
            return ToolResult(False, f"There is no flow called {flow!r}.")
        spec = specs.get(call.name)
        if spec is None:
            return ToolResult(False, f"There is no tool called {call.name!r}.")
        return await turn.runtime.call_tool(spec, args)

    t0 = time.perf_counter()
    results = await asyncio.gather(*(one(c) for c in calls))
    turn.timings["tools_ms"] = turn.timings.get("tools_ms", 0) + (time.perf_counter() - t0) * 1000
    for call, result in zip(calls, results, strict=True):
        turn.state.tool_failures = 0 if result.ok else turn.state.tool_failures + 1
        turn.trace["tools"].append(
            {"name": call.name, "arguments": _args(call.arguments), "ok": result.ok, "result": result.text}
        )
        messages.append(
            {"role": "tool", "tool_call_id": call.id, "content": guards.fence("tool result", result.text, nonce)}
        )
        yield ToolFinished(name=call.name, ok=result.ok, result=result.text)


def _args(raw: str) -> dict:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
