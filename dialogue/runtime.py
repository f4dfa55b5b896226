"""What the engine asks of the world: classification, the LLM, retrieval, tool secrets.

The engine core takes a `Runtime` so it can be run with inline bots and no database (the
defaults need none); `dialogue.turn` builds one with the conversation's workspace, the bot
version's classifier and the knowledge search.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bots.schema import BotSnapshot, PromptSpec, ToolSpec
from dialogue import gateway, netguard, nlu
from dialogue.tools import ToolResult, run_tool

DEFAULT_PROMPT = PromptSpec(name="default", system="You are a helpful, concise assistant.")

_classifiers: dict[str, nlu.Classifier] = {}
# The same model bytes (or intents list) object, turn after turn (both are cached per version):
# found by identity, it is not hashed again on every turn. The source is held so its id stays its own.
_by_source: dict[int, tuple[object, nlu.Classifier]] = {}


def classifier_for(snapshot: BotSnapshot, blob: bytes | None = None) -> nlu.Classifier:
    """The bot version's classifier: from its stored model, or trained once per intent set."""
    source = blob or snapshot.intents
    seen = _by_source.get(id(source))
    if seen is not None and seen[0] is source:
        return seen[1]
    key = hashlib.sha256(
        blob or json.dumps([i.model_dump() for i in snapshot.intents], sort_keys=True).encode()
    ).hexdigest()
    clf = _classifiers.get(key)
    if clf is None:
        clf = nlu.load(blob) if blob else nlu.load(nlu.train(snapshot.intents))
    if len(_classifiers) > 256 or len(_by_source) > 256:
        _classifiers.clear()
        _by_source.clear()
    _classifiers[key] = clf
    _by_source[id(source)] = (source, clf)
    return clf


async def _no_retrieval(kb_ids: list[int], query: str) -> list:
    return []


async def _no_secrets(names: list[str]) -> dict[str, netguard.BoundSecret]:
    return {}


async def at_once() -> None:
    """The `before_effects` of a turn that needs no go-ahead."""


@dataclass
class Runtime:
    snapshot: BotSnapshot
    channel: str = "web"
    nlu_model: bytes | None = None
    retrieve: Callable[[list[int], str], Awaitable[list]] = _no_retrieval
    secrets: Callable[[list[str]], Awaitable[dict[str, netguard.BoundSecret]]] = _no_secrets
    outbound: netguard.Policy = netguard.Policy()  # the workspace's rules for where tools may call
    llm_calls: list[dict] = field(default_factory=list)  # one per attempt, for LlmCall rows
    # Awaited before anything that acts on the world (a tool call): a speculative turn waits
    # there for its confirmation (dialogue.turn).
    before_effects: Callable[[], Awaitable[None]] = at_once
    breakers: dict | None = None  # the models' circuit breakers, read as the turn began (breaker.reading)

    def __post_init__(self):
        self.gateway = gateway.Gateway(self.llm_calls.append, self.breakers)

    async def call_tool(self, spec: ToolSpec, arguments: dict) -> ToolResult:
        """Call a declared tool with the workspace's secrets it lists, under the workspace's rules."""
        await self.before_effects()
        return await run_tool(spec, arguments, secrets=await self.secrets(spec.secrets), policy=self.outbound)

    @property
    def llm_available(self) -> bool:
        return gateway.configured()

    def prompt(self, name: str | None, mode: str = "chat") -> PromptSpec:
        """The named prompt, or the bot's first; a prompt made for the other kind of channel gives
        way to the first one made for this kind (a short spoken twin on calls), when there is one."""
        prompts = self.snapshot.prompts
        named = next((p for p in prompts if p.name == name), None) or (prompts[0] if prompts else DEFAULT_PROMPT)
        if named.mode in (mode, "both"):
            return named
        return next((p for p in prompts if p.mode in (mode, "both")), named)

    async def classify(self, text: str) -> tuple[str | None, float]:
        if not self.snapshot.intents or not text:
            return None, 0.0
        if self.snapshot.nlu == "llm" and self.llm_available:
            return await self._classify_llm(text)
        return classifier_for(self.snapshot, self.nlu_model).classify(text, self.snapshot.nlu_threshold)

    async def _classify_llm(self, text: str) -> tuple[str | None, float]:
        names = [i.name for i in self.snapshot.intents]
        catalogue = "\n".join(f"- {i.name}: e.g. " + "; ".join(i.examples[:3]) for i in self.snapshot.intents)
        messages = [
            {
                "role": "system",
                "content": "Classify the user's message into one of these intents, or null if none fits.\n"
                f'{catalogue}\nAnswer in JSON: {{"intent": <name or null>, "confidence": <0..1>}}',
            },
            {"role": "user", "content": text},
        ]
        prompt = self.prompt(None)
        try:
            result = await self.gateway.complete(
                messages,
                models=prompt.models,
                temperature=0,
                max_tokens=60,
                json_mode=True,
                purpose="classify",
            )
            data = json.loads(result.text or "{}")
        except (gateway.LlmUnavailable, ValueError):
            return classifier_for(self.snapshot, self.nlu_model).classify(text, self.snapshot.nlu_threshold)
        intent = data.get("intent") if isinstance(data, dict) else None
        try:
            confidence = float(data.get("confidence", 0)) if isinstance(data, dict) else 0.0
        except (TypeError, ValueError):
            confidence = 0.0
        if intent not in names or confidence < self.snapshot.nlu_threshold:
            return None, confidence
        return intent, confidence

    async def summarise(self, transcript: list[dict], slots: dict) -> str:
        """A few sentences for a human agent: the LLM's, or an extract when there is none."""
        if self.llm_available and transcript:
            prompt = self.prompt(None)
            lines = "\n".join(f"{m['role']}: {m['content']}" for m in transcript[-20:])
            messages = [
                {
                    "role": "system",
                    "content": "Summarise this support conversation for the human agent taking "
                    "over, in at most three sentences: what the person wants and what was tried.",
                },
                {"role": "user", "content": lines},
            ]
            try:
                result = await self.gateway.complete(
                    messages,
                    models=prompt.models,
                    temperature=0,
                    max_tokens=150,
                    purpose="summary",
                )
                if result.text.strip():
                    return result.text.strip()
            except gateway.LlmUnavailable:
                pass
        return extractive_summary(transcript, slots)


def extractive_summary(transcript: list[dict], slots: dict) -> str:
    said = [m["content"] for m in transcript if m["role"] == "user"][-3:]
    parts = []
    if said:
        parts.append("The person said: " + " / ".join(f"“{s[:160]}”" for s in said) + ".")
    if slots:
        parts.append("Details collected: " + "; ".join(f"{k}: {v}" for k, v in slots.items()) + ".")
    return " ".join(parts) or "The conversation had just started."
