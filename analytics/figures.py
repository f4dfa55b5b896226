"""Turning raw turn records into figures: percentiles, which turns went unanswered, latency per
component. Pure functions over plain dicts, shared by the roll-ups and the alert checks."""

from __future__ import annotations

import math
import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Components on the latency charts. Chat turns come from TurnTrace timings and the reply's LlmCall;
# voice turns from CallTurn. "first_token" (chat) and "first_audio" (voice) are what a person waits.
CHAT_COMPONENTS = ("first_token", "llm_first_token", "retrieval", "tools", "platform")
VOICE_COMPONENTS = ("first_audio", "stt", "llm_first_token", "tts_first_byte", "platform")
COMPONENT_LABELS = {
    "first_token": "Chat: first token",
    "first_audio": "Voice: first audio",
    "stt": "Speech-to-text",
    "llm_first_token": "LLM first token",
    "tts_first_byte": "Text-to-speech first byte",
    "retrieval": "Retrieval",
    "tools": "Tools",
    "platform": "Platform share",
}

NO_KNOWLEDGE, LOW_CONFIDENCE, LLM_FAILED = "no_knowledge", "low_confidence", "llm_failed"
REASON_LABELS = {
    NO_KNOWLEDGE: "No knowledge found",
    LOW_CONFIDENCE: "Intent not recognised",
    LLM_FAILED: "The LLM could not answer",
}


def percentile(values: list[float], p: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(values: list[float]) -> dict:
    return {"n": len(values), "p50": _round(percentile(values, 0.5)), "p95": _round(percentile(values, 0.95))}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def is_message_turn(timings: dict) -> bool:
    """A turn answering a person's message (not a greeting, nor a message while an agent has it)."""
    return "classify_ms" in timings


def knowledge_nodes(snapshot: dict) -> set[str]:
    """ "flow/node" of every llm node of a published snapshot that reads knowledge bases."""
    return {
        f"{flow['name']}/{node['id']}"
        for flow in snapshot.get("flows", [])
        for node in flow.get("graph", {}).get("nodes", [])
        if node.get("kind") == "llm" and node.get("knowledge_bases")
    }


def unanswered_reason(timings: dict, debug: dict, knowledge: set[str] = frozenset()) -> str | None:
    """Why a message turn left the person without an answer, or None. `knowledge`: the bot's llm
    nodes with knowledge bases (`knowledge_nodes`): reaching one and retrieving nothing is a gap."""
    if not is_message_turn(timings) or debug.get("rule_fired"):
        return None  # a handoff the person asked for, or a rule, is not a missing answer
    if debug.get("llm_unavailable"):
        return LLM_FAILED
    if not debug.get("chunks") and knowledge.intersection(debug.get("path") or []):
        return NO_KNOWLEDGE
    # The classifier ran (a confidence above 0) and found no intent above the bot's threshold.
    if debug.get("intent") is None and (debug.get("confidence") or 0) > 0:
        return LOW_CONFIDENCE
    return None


def chat_latency(timings: dict, reply_ttft_ms: float | None) -> dict[str, float]:
    """One chat turn's components in ms. First token = the work before the LLM plus the LLM's own
    first-token time; platform share = the turn minus the time spent waiting on vendors."""
    out: dict[str, float] = {}
    if timings.get("retrieve_ms"):  # 0: the node has no knowledge base, nothing was searched
        out["retrieval"] = timings["retrieve_ms"]
    if "tools_ms" in timings:
        out["tools"] = timings["tools_ms"]
    if reply_ttft_ms is not None:
        out["llm_first_token"] = reply_ttft_ms
        before = sum(timings.get(k, 0) for k in ("load_ms", "classify_ms", "retrieve_ms"))
        out["first_token"] = before + reply_ttft_ms
    elif "total_ms" in timings:
        out["first_token"] = timings["total_ms"]  # no LLM: the whole reply comes at once
    if "total_ms" in timings:
        vendors = sum(timings.get(k, 0) for k in ("llm_ms", "tools_ms"))
        out["platform"] = max(timings["total_ms"] - vendors, 0.0)
    return out


def voice_latency(call_turn: dict) -> dict[str, float]:
    names = {
        "first_audio_ms": "first_audio",
        "stt_ms": "stt",
        "llm_first_token_ms": "llm_first_token",
        "tts_first_byte_ms": "tts_first_byte",
        "platform_ms": "platform",
    }
    return {name: call_turn[field] for field, name in names.items() if call_turn.get(field) is not None}


_WORD = re.compile(r"[a-z][a-z']+")


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 3 and word[-1] == word[-2] else word  # shipp → ship


def topic_words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS and len(w) > 2]


def group_questions(questions: list[dict], limit: int = 20) -> list[dict]:
    """Unanswered questions grouped by topic: each question joins the group of its word shared by
    the most unanswered questions, so "do you ship to Canada?" and "shipping to Mexico?" land under
    "ship" — the document to write next. Groups are returned largest first."""
    words = [set(topic_words(q["text"])) for q in questions]
    counts: dict[str, int] = {}
    for ws in words:
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    groups: dict[str, dict] = {}
    for question, ws in zip(questions, words, strict=True):
        topic = min(ws, key=lambda w: (-counts[w], w)) if ws else "(no words)"
        group = groups.setdefault(topic, {"topic": topic, "count": 0, "reasons": {}, "examples": []})
        group["count"] += 1
        group["reasons"][question["reason"]] = group["reasons"].get(question["reason"], 0) + 1
        if question["text"] not in group["examples"] and len(group["examples"]) < 5:
            group["examples"].append(question["text"])
    return sorted(groups.values(), key=lambda g: (-g["count"], g["topic"]))[:limit]
