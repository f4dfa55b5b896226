"""Reading a signed webhook body, field by field, with the types the platform documents.

A valid signature says who sent a body, not that it has the documented shape: a platform's bug, a
changed API or a leaked secret can put a list where a string belongs, nest arrays thousands deep
or send a count of 5,000 digits. Adapters read every field through these helpers, so such a body
is `BadPayload` (400, and nothing changes: parsing only reads) instead of a 500 half-way through.
"""

from __future__ import annotations

import json

from channels_app.messaging.base import BadPayload

MAX_DIGITS = 12  # longer than any count, error code or unix time a platform sends


def json_object(raw: bytes | str, what: str = "The body") -> dict:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser's stack
        raise BadPayload(f"{what} is not JSON.") from exc
    if not isinstance(data, dict):
        raise BadPayload(f"{what} is not a JSON object.")
    return data


def obj(container: dict, key: str) -> dict:
    """The object at `key`; {} when it is absent or null."""
    return _typed(container, key, dict, "an object")


def objects(container: dict, key: str) -> list[dict]:
    """The list of objects at `key`; [] when it is absent or null."""
    value = _typed(container, key, list, "a list of objects")
    if not all(isinstance(v, dict) for v in value):
        raise BadPayload(f"{key} must be a list of objects.")
    return value


def text(container: dict, key: str) -> str:
    """The string at `key`; "" when it is absent or null."""
    return _typed(container, key, str, "a string")


def number(container: dict, key: str) -> int | None:
    """The JSON integer at `key`; None when it is absent or null."""
    value = container.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadPayload(f"{key} must be a whole number.")
    return value


def whole_number(container, key: str) -> int | None:
    """A count, code or time sent as a string of digits (form fields, WhatsApp's timestamp); None when absent or empty."""
    value = text(container, key)
    if not value:
        return None
    # isdigit() alone also takes other scripts' digits, and int() refuses strings of over 4,300 digits.
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_DIGITS:
        raise BadPayload(f"{key} must be a whole number of at most {MAX_DIGITS} digits.")
    return int(value)


def _typed(container: dict, key: str, kind: type, words: str):
    value = container.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise BadPayload(f"{key} must be {words}.")
    return value
