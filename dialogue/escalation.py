"""Escalation rules, checked on every turn: one check per trigger kind, in a registry.

A rule fires on the turn's facts (`Signals`); the first rule that fires hands the conversation
to a person. Sentiment is VADER (a lexicon, local, no network), computed only when a bot has a
sentiment rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bots.schema import EscalationSpec

_analyzer = SentimentIntensityAnalyzer()

# "I want to talk to a human", "agent please", "get me a real person", "representative!"...
_EXPLICIT = re.compile(
    r"\b(?:(?:speak|talk|chat|connect|transfer|put)\w*\s+(?:me\s+)?(?:to|with|through)\s+(?:a|an|the|some|your)?\s*"
    r"(?:real\s+|live\s+|actual\s+)?(?:human|person|agent|operator|representative|rep|someone|somebody|manager|staff)"
    r"|(?:real|live|actual)\s+(?:human|person|agent)"
    r"|\b(?:human|agent|operator|representative)\s*(?:please|pls|now)\b"
    r"|^\s*(?:human|agent|operator|representative)\s*[!.]*\s*$"
    r"|(?:get|give|need|want)\s+(?:me\s+)?(?:a|an|to\s+speak\s+to\s+a)?\s*(?:human|person|agent|operator|representative)"
    r"|\bparler\s+à\s+(?:un|une)\s+(?:humain|conseiller|agent|personne)"
    r"|\bhablar\s+con\s+(?:un|una)\s+(?:humano|persona|agente))",
    re.IGNORECASE,
)


@dataclass
class Signals:
    text: str
    intent: str | None = None
    confidence: float = 1.0
    low_confidence_streak: int = 0
    tool_failures: int = 0
    turns: int = 0
    extra: dict = field(default_factory=dict)

    @cached_property
    def sentiment(self) -> float:
        return _analyzer.polarity_scores(self.text)["compound"] if self.text else 0.0


CHECKS: dict[str, Callable[[EscalationSpec, Signals], bool]] = {}


def check(trigger: str):
    def register(fn):
        CHECKS[trigger] = fn
        return fn

    return register


@check("explicit_request")
def _explicit(rule: EscalationSpec, s: Signals) -> bool:
    return bool(s.text and _EXPLICIT.search(s.text))


@check("low_confidence")
def _low_confidence(rule: EscalationSpec, s: Signals) -> bool:
    return s.low_confidence_streak >= int(rule.threshold or 3)


@check("negative_sentiment")
def _negative(rule: EscalationSpec, s: Signals) -> bool:
    return bool(s.text) and s.sentiment <= (rule.threshold if rule.threshold is not None else -0.6)


@check("intent")
def _intent(rule: EscalationSpec, s: Signals) -> bool:
    return s.intent is not None and s.intent in rule.intents


@check("keyword")
def _keyword(rule: EscalationSpec, s: Signals) -> bool:
    text = s.text.lower()
    return any(re.search(rf"\b{re.escape(k.lower())}\b", text) for k in rule.keywords if k.strip())


@check("tool_failures")
def _tool_failures(rule: EscalationSpec, s: Signals) -> bool:
    return s.tool_failures >= int(rule.threshold or 2)


@check("max_turns")
def _max_turns(rule: EscalationSpec, s: Signals) -> bool:
    return s.turns >= int(rule.threshold or 20)


def first_match(rules: list[EscalationSpec], signals: Signals, *, only: set[str] | None = None):
    """(the rule that fired or None, [names checked]) — `only` restricts the trigger kinds."""
    checked = []
    for rule in rules:
        if only is not None and rule.trigger not in only:
            continue
        checked.append(rule.name)
        if CHECKS[rule.trigger](rule, signals):
            return rule, checked
    return None, checked
