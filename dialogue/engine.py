"""The dialogue core: `(snapshot, state, inbound) -> events, new state`, with no database.

    turn = Turn(snapshot, state, inbound, runtime, mode="chat")
    async for event in turn.run():
        ...
    turn.state        # the new state (mutated in place)
    turn.trace        # what happened, for TurnTrace and the test console

Routing of a user message, in order: escalation rules; a node waiting for an answer (ask,
intent, llm) resumes; a flow whose trigger intent or keyword matches starts; the llm node in
control answers; the entry flow starts; otherwise the bot's first prompt answers (or, with no
prompt, a plain "I didn't understand").
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime

from bots.schema import BotSnapshot, EscalationSpec, FlowSpec
from dialogue import escalation, guards
from dialogue.answer import answer
from dialogue.events import End, Event, Handoff, Inbound, MessageDone, SentenceEnd, TextDelta
from dialogue.nodes import HANDLERS
from dialogue.runtime import Runtime
from dialogue.speech import SentenceSplitter, strip_markdown
from dialogue.state import SessionState
from dialogue.templating import render_async as render_template

COMPACT_BATCH = 4  # turns summarised at once when the history passes its window
MAX_STEPS = 50  # nodes per turn: a loop in a flow graph must not spin forever
NOT_UNDERSTOOD = "Sorry, I didn't quite get that. Could you say it another way?"
STILL_THERE = "Are you still there?"


class Turn:
    def __init__(self, snapshot: BotSnapshot, state: SessionState, inbound: Inbound, runtime: Runtime, *, mode="chat"):
        self.snapshot = snapshot
        self.state = state
        self.inbound = inbound
        self.runtime = runtime
        self.mode = mode
        self.text = ""  # the user's message, cleaned
        self.consumed = False  # an ask or llm node has answered the message
        self.routed = False  # an intent node has routed on it
        self.resume: tuple[str, str] | None = None  # (flow, node) waiting for this message
        self.intent: str | None = None
        self.confidence = 0.0
        self.start_flow: str | None = None  # set by the LLM's start_flow tool
        self.replies: list[str] = []
        self.handoff: dict | None = None
        self.ended = False
        self.trace: dict = {"path": [], "tools": [], "chunks": [], "rules_checked": [], "rule_fired": None}
        self.timings: dict[str, float] = {}
        self._flows = {f.name: f for f in snapshot.flows}
        self._nodes = {f.name: {n.id: n for n in f.graph.nodes} for f in snapshot.flows}

    # --- entry --------------------------------------------------------------------------------
    async def run(self):
        started = time.perf_counter()
        self.trace["slots_before"] = dict(self.state.slots)
        if self.inbound.kind == "event":
            async for event in self._system_event():
                yield event
        else:
            async for event in self._message():
                yield event
        self.trace.update(slots_after=dict(self.state.slots), intent=self.intent, confidence=self.confidence)
        self.timings["engine_ms"] = (time.perf_counter() - started) * 1000

    async def _system_event(self):
        kind = self.inbound.event
        state = self.state
        if kind in ("conversation_started", "call_started") and not state.started:
            state.started = True
            if self.snapshot.greeting:
                for event in self.say(self.snapshot.greeting):
                    yield event
            entry = self._entry_flow()
            if entry:
                async for event in self.run_flow(entry.name, entry.graph.entry):
                    yield event
            if self.replies:
                state.history.append({"role": "assistant", "content": " ".join(self.replies)})
        elif kind == "silence_timeout":
            waiting = self._waiting_node()
            prompt = getattr(waiting, "prompt", None) if waiting is not None else None
            text = prompt if isinstance(prompt, str) and waiting.kind == "ask" else STILL_THERE
            for event in self.say(await self.render(text)):
                yield event
        elif kind == "agent_returned":
            state.status = "active"

    async def _message(self):
        state = self.state
        raw = self.inbound.payload or self.inbound.text
        self.text = guards.clean_user_text(raw)
        if state.status == "handed_off":
            state.history.append({"role": "user", "content": self.text})
            return  # a person has the conversation now; the bot stays quiet
        if state.status == "ended":
            state.status, state.flow, state.node = "active", None, None
        state.started = True
        state.turns += 1
        state.history.append({"role": "user", "content": self.text})
        compaction = self._start_compaction()
        try:
            async for event in self._respond():
                yield event
        except BaseException:  # cancelled (barge-in) or failed: the summary is not needed any more
            if compaction is not None:
                compaction[1].cancel()
            raise
        if self.replies:
            state.history.append({"role": "assistant", "content": " ".join(self.replies)})
        if compaction is not None:
            dropped, task = compaction
            state.summary = await task
            state.history = state.history[dropped:]

    async def _respond(self):
        state = self.state
        answering = getattr(self._waiting_node(), "kind", None) == "ask"
        t0 = time.perf_counter()
        self.intent, self.confidence = await self.runtime.classify(self.text)
        self.timings["classify_ms"] = (time.perf_counter() - t0) * 1000
        if self.snapshot.intents and not answering:  # an answer to a question is not meant to be an intent
            state.low_confidence_streak = state.low_confidence_streak + 1 if self.intent is None else 0
        rule = self._check_rules(exclude={"tool_failures"})
        if rule is not None:
            async for event in self.escalate(rule.name, rule):
                yield event
            return
        async for event in self._route():
            yield event
        if self.handoff is None and state.status == "active":
            rule = self._check_rules(only={"tool_failures"})
            if rule is not None:
                async for event in self.escalate(rule.name, rule):
                    yield event

    def _start_compaction(self) -> tuple[int, asyncio.Task] | None:
        """Slide the window: past the threshold, the oldest turns are summarised and dropped.

        Dropped in batches of `COMPACT_BATCH` turns, so a long conversation costs one summary
        every few turns rather than one per turn; the summary is written while the turn answers
        (its own LLM call runs alongside), so the reply does not wait for it.
        """
        keep = self.snapshot.history_turns * 2
        history = self.state.history
        if len(history) <= keep + COMPACT_BATCH * 2:
            return None
        dropped = history[:-keep]
        previous = (
            [{"role": "assistant", "content": f"(summary so far) {self.state.summary}"}] if self.state.summary else []
        )
        return len(dropped), asyncio.create_task(self.runtime.summarise(previous + dropped, {}))

    async def _route(self):
        state = self.state
        always = next((i for i in self.snapshot.intents if i.name == self.intent and i.always_handoff), None)
        if always is not None:
            async for event in self.escalate(f"intent:{always.name}"):
                yield event
            return
        if state.flow and state.node:
            self.resume = (state.flow, state.node)
            async for event in self.run_flow(state.flow, state.node):
                yield event
        elif (flow := self._triggered_flow()) is not None:
            async for event in self.run_flow(flow.name, flow.graph.entry):
                yield event
        elif self._entry_routes_intent() and (entry := self._entry_flow()) is not None:
            # A clear intent the entry flow routes wins over the LLM in control (a new topic).
            async for event in self.run_flow(entry.name, entry.graph.entry):
                yield event
        elif state.llm_flow and state.llm_node:
            self.resume = (state.llm_flow, state.llm_node)
            async for event in self.run_flow(state.llm_flow, state.llm_node):
                yield event
        elif (entry := self._entry_flow()) is not None:
            async for event in self.run_flow(entry.name, entry.graph.entry):
                yield event
        if not self.consumed and self.handoff is None and not self.ended and not self.replies:
            async for event in self._fallback():
                yield event

    async def _fallback(self):
        self.consumed = True
        if self.snapshot.prompts:
            kb_ids = [kb["id"] for kb in self.snapshot.knowledge_bases]
            prompt = self.runtime.prompt(None, self.mode)
            async for event in answer(self, prompt, kb_ids=kb_ids, tool_names=[], flow_names=[]):
                yield event
        else:
            for event in self.say(NOT_UNDERSTOOD):
                yield event

    # --- flows --------------------------------------------------------------------------------
    def _entry_flow(self) -> FlowSpec | None:
        return next((f for f in self.snapshot.flows if f.is_entry and f.graph.entry), None)

    def _triggered_flow(self) -> FlowSpec | None:
        text = self.text.lower()
        for flow in self.snapshot.flows:
            if not flow.graph.entry:
                continue
            if self.intent and self.intent in flow.trigger_intents:
                return flow
            if any(re.search(rf"\b{re.escape(k.lower())}\b", text) for k in flow.trigger_keywords if k.strip()):
                return flow
        return None

    def _entry_routes_intent(self) -> bool:
        entry = self._entry_flow()
        if entry is None or self.intent is None:
            return False
        first = self._nodes[entry.name].get(entry.graph.entry)
        return first is not None and first.kind == "intent" and any(r.intent == self.intent for r in first.routes)

    def _waiting_node(self):
        state = self.state
        if state.flow and state.node:
            return self._nodes.get(state.flow, {}).get(state.node)
        return None

    async def run_flow(self, flow: str, node_id: str | None):
        """Run nodes from `node_id` until one waits for the user, the flow ends, or the bot hands off."""
        state = self.state
        state.flow = state.node = None
        steps = 0
        while node_id and steps < MAX_STEPS:
            steps += 1
            node = self._nodes.get(flow, {}).get(node_id)
            if node is None:
                break
            self.trace["path"].append(f"{flow}/{node_id}")
            step = HANDLERS[node.kind](self, flow, node)
            async for event in step.run():
                yield event
            if step.wait:
                state.flow, state.node = flow, node.id
                return
            if step.stop or self.handoff is not None or self.ended:
                return
            if self.start_flow:
                flow, self.start_flow = self.start_flow, None
                node_id = self._flows[flow].graph.entry if flow in self._flows else None
                continue
            node_id = step.goto

    # --- output -------------------------------------------------------------------------------
    async def render(self, template: str) -> str:
        """The template filled in from the slots, on a worker thread (see `dialogue.templating`)."""
        return await render_template(template, self.template_context())

    def template_context(self) -> dict:
        now = datetime.now(UTC)
        return {
            **self.state.slots,
            "slots": self.state.slots,
            "intent": self.intent,
            "confidence": self.confidence,
            "channel": self.runtime.channel,
            "hour": now.hour,
            "weekday": now.strftime("%A").lower(),
        }

    def say(self, text: str, buttons: list[dict] | None = None) -> list[Event]:
        """A whole message (flows, greetings): one delta, sentences in voice mode, then done."""
        if self.mode == "voice":
            text = strip_markdown(text)
        self.replies.append(text)
        events: list[Event] = [TextDelta(text=text)]
        if self.mode == "voice":
            splitter = SentenceSplitter()
            events += [SentenceEnd(text=s) for s in splitter.feed(text) + splitter.flush()]
        events.append(MessageDone(text=text, buttons=buttons or []))
        return events

    # --- escalation ---------------------------------------------------------------------------
    def _signals(self) -> escalation.Signals:
        s = self.state
        return escalation.Signals(
            text=self.text,
            intent=self.intent,
            confidence=self.confidence,
            low_confidence_streak=s.low_confidence_streak,
            tool_failures=s.tool_failures,
            turns=s.turns,
        )

    def _check_rules(self, *, exclude: set[str] = frozenset(), only: set[str] | None = None):
        kinds = set(only) if only is not None else set(escalation.CHECKS) - set(exclude)
        rule, checked = escalation.first_match(self.snapshot.escalation_rules, self._signals(), only=kinds)
        self.trace["rules_checked"] += checked
        if rule is not None:
            self.trace["rule_fired"] = rule.name
        return rule

    async def escalate(
        self, reason: str, rule: EscalationSpec | None = None, *, queue="default", message=None, transfer_to=""
    ):
        """Hand the conversation to a person: a message, then a `Handoff` with summary and slots.

        A rule's action decides how: a queue (calls go to the transfer number), a call transfer (chats,
        which cannot be transferred, go to the queue), a callback request (the inbox reads the next
        message as the contact), or only the rule's message, the bot staying in charge."""
        action = rule.action if rule is not None else "handoff"
        if rule is not None:
            queue, message, transfer_to = rule.queue, rule.message, rule.transfer_to
            if action == "message":
                for event in self.say(await self.render(message)):
                    yield event
                return
        message = message or "Let me connect you with a person who can help."
        if action == "collect_contact" or (rule is not None and self.mode != "voice"):
            transfer_to = ""  # a chat cannot be transferred; a callback request needs no number
        elif self.mode == "voice" and not transfer_to:
            transfer_to = self.snapshot.voice.transfer_number
        for event in self.say(await self.render(message)):
            yield event
        t0 = time.perf_counter()
        summary = await self.runtime.summarise(self.state.history, self.state.slots)
        self.timings["summary_ms"] = (time.perf_counter() - t0) * 1000
        self.handoff = {
            "reason": reason,
            "queue": queue,
            "summary": summary,
            "slots": dict(self.state.slots),
            "transfer_to": transfer_to,
        }
        self.state.status = "handed_off"
        self.state.flow = self.state.node = None
        why = self._why(reason, rule)
        yield Handoff(message=message, **self.handoff)
        self.handoff["why"] = why  # stored on the Handoff row; not part of the event channels see

    def _why(self, reason: str, rule: EscalationSpec | None) -> dict:
        """What made the bot hand off, for the agent taking over."""
        signals = self._signals()
        trigger = rule.trigger if rule is not None else ("intent" if reason.startswith("intent:") else "flow")
        return {
            "trigger": trigger,
            "rule": rule.name if rule is not None else "",
            "action": rule.action if rule is not None else "handoff",
            "intent": self.intent,
            "confidence": round(self.confidence, 3),
            "low_confidence_streak": self.state.low_confidence_streak,
            "mood": round(signals.sentiment, 3),  # -1 angry … 1 happy (VADER)
            "explicit_ask": escalation.CHECKS["explicit_request"](rule, signals),
            "tool_failures": self.state.tool_failures,
            "turns": self.state.turns,
        }

    def end(self, reason: str = "flow") -> End:
        self.ended = True
        self.state.status = "ended"
        self.state.flow = self.state.node = self.state.llm_flow = self.state.llm_node = None
        return End(reason=reason)
