"""One small class per node kind, registered under the kind's stored name.

A step runs its node: `run()` yields events, then says where to go (`goto`), that the flow
waits here for the user's next message (`wait`), or that the turn is over (`stop`).
"""

from __future__ import annotations

import time

from dialogue import expressions, slots
from dialogue.answer import answer
from dialogue.events import ToolFinished, ToolStarted
from dialogue.tools import ToolResult

HANDLERS: dict[str, type[Step]] = {}


def node_kind(kind: str):
    def register(cls):
        HANDLERS[kind] = cls
        return cls

    return register


class Step:
    def __init__(self, turn, flow: str, node):
        self.turn = turn
        self.flow = flow
        self.node = node
        self.goto: str | None = getattr(node, "next", None)
        self.wait = False
        self.stop = False

    @property
    def resuming(self) -> bool:
        """This node asked something last turn and the user's message is its answer."""
        return self.turn.resume == (self.flow, self.node.id) and not self.turn.consumed

    async def run(self):
        return
        yield


@node_kind("message")
class MessageStep(Step):
    async def run(self):
        buttons = [{"title": b.title, "payload": b.payload or b.title} for b in self.node.buttons]
        for event in self.turn.say(await self.turn.render(self.node.text), buttons):
            yield event


@node_kind("ask")
class AskStep(Step):
    async def run(self):
        node, turn, state = self.node, self.turn, self.turn.state
        buttons = [{"title": c, "payload": c} for c in node.choices]
        if not self.resuming:
            state.retries = 0
            self.wait = True
            for event in turn.say(await turn.render(node.prompt), buttons):
                yield event
            return
        turn.consumed = True
        try:
            state.slots[node.slot] = slots.validate(node, turn.text)
        except slots.Invalid as invalid:
            state.retries += 1
            turn.trace.setdefault("validation_failures", []).append({"slot": node.slot, "hint": str(invalid)})
            if state.retries > node.retries:
                state.retries = 0
                self.goto = node.on_failure
                if node.on_failure is None:
                    for event in turn.say("Sorry, I still couldn't understand that."):
                        yield event
                return
            reprompt = (
                await turn.render(node.reprompt) if node.reprompt else f"{invalid} {await turn.render(node.prompt)}"
            )
            self.wait = True
            for event in turn.say(reprompt, buttons):
                yield event
            return
        state.retries = 0


@node_kind("branch")
class BranchStep(Step):
    async def run(self):
        context = self.turn.template_context()
        self.goto = self.node.otherwise
        for condition in self.node.conditions:
            try:
                matched = expressions.evaluate(condition.when, context)
            except expressions.ExpressionError:
                matched = False  # the validator refuses these at publish; an old version must not crash
            if matched:
                self.goto = condition.next
                break
        self.turn.trace.setdefault("branches", []).append({"node": self.node.id, "next": self.goto})
        return
        yield


@node_kind("intent")
class IntentStep(Step):
    async def run(self):
        turn = self.turn
        if turn.consumed or turn.routed or not turn.text:
            self.wait = True  # reached mid-turn: route on the user's next message
            return
        turn.routed = True  # routing does not answer: an llm node after it still answers this message
        self.goto = next((r.next for r in self.node.routes if r.intent == turn.intent), self.node.fallback)
        return
        yield


@node_kind("llm")
class LlmStep(Step):
    async def run(self):
        turn, node = self.turn, self.node
        if turn.consumed or not turn.text:
            self.wait = True
            return
        turn.consumed = True
        names = {kb["name"]: kb["id"] for kb in turn.snapshot.knowledge_bases}
        kb_ids = [names[n] for n in node.knowledge_bases if n in names]
        prompt = turn.runtime.prompt(node.prompt, turn.mode)
        async for event in answer(turn, prompt, kb_ids=kb_ids, tool_names=node.tools, flow_names=node.flows):
            yield event
        if node.next is None:
            # The LLM keeps the conversation until a flow takes it; flows it starts hand back here.
            turn.state.llm_flow, turn.state.llm_node = self.flow, node.id


@node_kind("tool")
class ToolStep(Step):
    async def run(self):
        turn, node, state = self.turn, self.node, self.turn.state
        spec = next((t for t in turn.snapshot.tools if t.name == node.tool), None)
        arguments = {k: await turn.render(v) for k, v in node.arguments.items()}
        yield ToolStarted(name=node.tool, arguments=arguments)
        t0 = time.perf_counter()
        if spec is None:
            result = ToolResult(False, f"The tool {node.tool} does not exist in this version of the bot.")
        else:
            result = await turn.runtime.call_tool(spec, arguments)
        turn.timings["tools_ms"] = turn.timings.get("tools_ms", 0) + (time.perf_counter() - t0) * 1000
        turn.trace["tools"].append({"name": node.tool, "arguments": arguments, "ok": result.ok, "result": result.text})
        yield ToolFinished(name=node.tool, ok=result.ok, result=result.text)
        if result.ok:
            state.tool_failures = 0
            if node.result_slot:
                state.slots[node.result_slot] = result.data if result.data is not None else result.text
        else:
            state.tool_failures += 1
            self.goto = node.on_error or node.next


@node_kind("set")
class SetStep(Step):
    async def run(self):
        state = self.turn.state
        for name, template in self.node.values.items():
            state.slots[name] = await self.turn.render(template)
        for name in self.node.clear:
            state.slots.pop(name, None)
        return
        yield


@node_kind("handoff")
class HandoffStep(Step):
    async def run(self):
        node = self.node
        async for event in self.turn.escalate(
            "flow", queue=node.queue, message=node.message, transfer_to=node.transfer_to
        ):
            yield event
        self.stop = True


@node_kind("end")
class EndStep(Step):
    async def run(self):
        if self.node.message:
            for event in self.turn.say(await self.turn.render(self.node.message)):
                yield event
        yield self.turn.end("flow")
        self.stop = True
