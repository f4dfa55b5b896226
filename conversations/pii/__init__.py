"""PII detection and redaction: typed placeholders replace what must never reach storage or logs.

    redact("card four one one one …, mail me at a@b.co")  ->  "card [CARD], mail me at [EMAIL]"
    redact(text, deep=True)   # also the named-entity model's names and addresses (Celery only)

Two passes. The fast pass (every message, inside the turn, well under 2 ms) normalises spoken
and spaced forms, then runs validated detectors (cards, IBANs, SSNs, phones in the bot's region,
e-mails, IPs), the values a label names ("date of birth …", "passport number …", "cvv …"), street
addresses by shape and the names people introduce. The deep pass adds a
local NER model and runs on Celery over what was stored (`conversations.tasks`).
"""

from __future__ import annotations

import contextlib
import functools
import re
from contextvars import ContextVar

from conversations.pii import detectors, labelled, names, places
from conversations.pii.normalise import normalise

PLACEHOLDERS = (
    "[CARD]", "[IBAN]", "[SSN]", "[PHONE]", "[EMAIL]", "[IP]", "[ADDRESS]", "[NAME]",
    "[DOB]", "[ID]", "[ACCOUNT]", "[SECRET]",
)  # fmt: skip
# When two finds overlap, the stronger evidence wins: validated numbers over shapes over guesses.
_RANK = {
    "EMAIL": 0, "IBAN": 0, "CARD": 0, "SSN": 1, "IP": 1, "DOB": 1, "ID": 1, "ACCOUNT": 1, "SECRET": 1,
    "PHONE": 2, "ADDRESS": 3, "NAME": 4,
}  # fmt: skip


# Within `remembering()`: redactions already made, so a text that passes through several writers
# (a turn's history, its stored messages, its trace) is worked on once.
_memo: ContextVar[dict | None] = ContextVar("redaction_memo", default=None)


@contextlib.contextmanager
def remembering():
    """Redact each distinct text once inside the block (its threads included: they copy the context)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def region_of(language: str | None) -> str:
    """The phone region from a bot's language tag: "en-GB" -> "GB"; plain "en" -> "US"."""
    if language and "-" in language:
        tail = language.replace("_", "-").split("-")[-1].upper()
        if len(tail) == 2:
            return tail
    return "US"


def find(
    text: str, *, region: str = "US", deep: bool = False, own_names: tuple[str, ...] = ()
) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans of PII in `text`, in order.

    `own_names` are the names the speaker goes by: "Hi! I'm Acme's assistant" from the bot "Acme
    Support" is the bot introducing itself, as "Hi, I'm Ana" is the agent Ana, and a name found over
    one of them (or one of their words) is not a person's."""
    if not text:
        return []
    n = normalise(text)
    written = n.text
    found = [
        *detectors.emails(written, n.spoken_at),
        *detectors.ibans(written),
        *detectors.ips(written),
        *detectors.numbers(written, region),
        *places.addresses(written),
        *labelled.labelled(written),
    ]
    spans = [(*n.span(s, e), kind) for s, e, kind in found]
    spans += list(names.names(text))
    if deep:
        from conversations.pii import ner

        spans += list(ner.entities(text))
    found = _resolve(spans)
    if own_names and any(kind == "NAME" for _, _, kind in found):
        own = [m.span() for m in _own_names(own_names).finditer(text)]
        found = [f for f in found if f[2] != "NAME" or all(f[1] <= s or f[0] >= e for s, e in own)]
    return found


@functools.lru_cache(maxsize=256)
def _own_names(own_names: tuple[str, ...]) -> re.Pattern:
    """The names and their words as one pattern, built once per speaker (the longest first, so
    "Acme Support" is found whole rather than as "Acme")."""
    terms = sorted({t for name in own_names for t in (name, *name.split()) if len(t) >= 3}, key=len, reverse=True)
    return re.compile("|".join(rf"\b{re.escape(t)}\b" for t in terms) or r"(?!)", re.IGNORECASE)


def _resolve(spans):
    chosen: list[tuple[int, int, str]] = []
    for s, e, kind in sorted(spans, key=lambda x: (_RANK[x[2]], x[0] - x[1])):
        if all(e <= cs or s >= ce for cs, ce, _ in chosen):
            chosen.append((s, e, kind))
    return sorted(chosen)


SECRETS = frozenset({"CARD", "SSN", "IBAN", "ID", "ACCOUNT", "SECRET"})


class Redacted(str):
    """A text already redacted, e.g. a knowledge passage worked on once per process: `redact`
    passes it through instead of searching it again on every turn that stores it."""


def holds_secret(text: str) -> bool:
    """A card number, SSN or IBAN in `text`: never kept in long-term memory."""
    return any(kind in SECRETS for _, _, kind in find(text))


def redact(text: str, *, region: str = "US", deep: bool = False, own_names: tuple[str, ...] = ()) -> str:
    if not text or (isinstance(text, Redacted) and not deep):
        return text
    memo = _memo.get()
    if memo is None:
        return _redact(text, region, deep, own_names)
    key = (text, region, deep, own_names)
    if key not in memo:
        memo[key] = _redact(text, region, deep, own_names)
    return memo[key]


def _redact(text: str, region: str, deep: bool, own_names: tuple[str, ...]) -> str:
    spans = find(text, region=region, deep=deep, own_names=own_names)
    if not spans:
        return text
    parts, last = [], 0
    for s, e, kind in spans:
        parts.append(text[last:s])
        parts.append(f"[{kind}]")
        last = e
    parts.append(text[last:])
    return "".join(parts)


def redact_obj(value, *, region: str = "US", deep: bool = False):
    """Redact every string inside JSON-like data (slots, tool arguments, trace details)."""
    if isinstance(value, str):
        return redact(value, region=region, deep=deep)
    if isinstance(value, dict):
        return {k: redact_obj(v, region=region, deep=deep) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(v, region=region, deep=deep) for v in value]
    return value
