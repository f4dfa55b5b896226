"""Typed slot validation for `ask` nodes: one parser per slot type, in a registry.

Each parser takes the user's answer and the node, and returns the normalized value or raises
`Invalid` with the hint used in the default reprompt.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime

import regex

from bots.schema import AskNode

log = logging.getLogger(__name__)


class Invalid(ValueError):
    pass


PARSERS: dict[str, Callable[[str, AskNode], object]] = {}


def parser(kind: str):
    def register(fn):
        PARSERS[kind] = fn
        return fn

    return register


@parser("text")
def _text(value: str, node: AskNode):
    if not value.strip():
        raise Invalid("Please type an answer.")
    # A sentence's full stop is not part of the answer ("Alice." from speech-to-text, or typed).
    return value.strip().rstrip(".!?").strip() or value.strip()


@parser("number")
def _number(value: str, node: AskNode):
    m = re.search(r"-?\d+(?:[.,]\d+)?", value.replace(" ", ""))
    if not m:
        raise Invalid("Please answer with a number.")
    raw = m.group().replace(",", ".")
    if len(raw) > 30:  # no one means a number this long; Python refuses past 4,300 digits anyway
        raise Invalid("Please answer with a shorter number.")
    return float(raw) if "." in raw else int(raw)


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


@parser("email")
def _email(value: str, node: AskNode):
    m = _EMAIL.search(value)
    if not m:
        raise Invalid("Please give an email address, like name@example.com.")
    return m.group().lower()


@parser("phone")
def _phone(value: str, node: AskNode):
    digits = re.sub(r"[^\d+]", "", value)
    if not 7 <= len(digits.lstrip("+")) <= 15:
        raise Invalid("Please give a phone number, with its country code if you are abroad.")
    return digits


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%B %d %Y", "%d %B %Y", "%b %d %Y", "%d %b %Y")


@parser("date")
def _date(value: str, node: AskNode):
    text = value.strip().lower().replace(",", "")
    if text == "today":
        return date.today().isoformat()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise Invalid("Please give a date, like 2025-03-14.")


@parser("choice")
def _choice(value: str, node: AskNode):
    text = value.strip().lower()
    for choice in node.choices:
        if text == choice.lower():
            return choice
    for choice in node.choices:
        if choice.lower() in text:
            return choice
    raise Invalid("Please pick one of: " + ", ".join(node.choices) + ".")


# A builder's pattern meets whatever a visitor types: a pattern that backtracks without end on some
# answer (`(a+)+$`) must cost that answer a refusal, never the worker's time.
PATTERN_BUDGET_S = 0.05
MAX_PATTERN_ANSWER = 500


def pattern_error(pattern: str) -> str | None:
    """Why a builder's pattern cannot be used, in the regex engine's words; None when it can."""
    try:
        regex.compile(pattern)
    except regex.error as exc:
        return str(exc)
    return None


@parser("regex")
def _regex(value: str, node: AskNode):
    answer = value.strip()
    if not node.pattern:
        return answer
    try:
        matched = len(answer) <= MAX_PATTERN_ANSWER and regex.fullmatch(node.pattern, answer, timeout=PATTERN_BUDGET_S)
    except TimeoutError:
        log.warning("slot pattern gave up on an answer", extra={"slot": node.slot, "node": node.id})
        matched = False
    if not matched:
        raise Invalid("That doesn't look right; please check the format.")
    return answer


@parser("digits")
def _digits(value: str, node: AskNode):
    digits = re.sub(r"[\s\-#*]", "", value)
    if not digits.isdigit():
        raise Invalid("Please answer with digits only (you can use the keypad).")
    return digits


def validate(node: AskNode, value: str):
    return PARSERS[node.type](value, node)
