"""A tool's JSON body, filled in structurally.

The builder writes JSON with `{{ }}` in it, quoted or not:

    {"order": "{{ order_id }}", "qty": {{ qty }}, "note": "Sent by {{ name }}"}

The template is parsed as JSON *first*, with each `{{ }}` standing in as a placeholder; then
every string is filled in as text and every unquoted `{{ }}` becomes the expression's value
(a number stays a number, a list a list), and the result is serialised with `json.dumps`. A
value holding `", "admin": true` is only ever the content of one string.
"""

from __future__ import annotations

import json
import re

from jinja2 import TemplateError

from dialogue.templating import evaluate_strict, render_strict

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
# Private-use characters: they cannot come from the builder's JSON text by accident.
_QUOTED = "\ue000{}\ue001"
_BARE = "\ue002{}\ue003"
_MARK = re.compile("\ue000(\\d+)\ue001")
_BARE_ONLY = re.compile("^\ue002(\\d+)\ue003$")


class BodyError(Exception):
    """The body template is not JSON with `{{ }}` in it; the message says where."""


def _placeholders(source: str) -> tuple[str, list[str]]:
    """The source with each `{{ expr }}` swapped for a placeholder, and the expressions."""
    out: list[str] = []
    expressions: list[str] = []
    in_string = escaped = False
    i = 0
    while i < len(source):
        if source.startswith("{{", i):
            end = source.find("}}", i + 2)
            if end < 0:
                raise BodyError("a {{ is not closed by }}.")
            expressions.append(source[i + 2 : end].strip())
            index = len(expressions) - 1
            out.append(_QUOTED.format(index) if in_string else '"' + _BARE.format(index) + '"')
            i = end + 2
            continue
        if source.startswith("{%", i) and not in_string:
            raise BodyError("{% %} blocks may only appear inside a quoted string.")
        char = source[i]
        if in_string and not escaped and char == '"' or not in_string and char == '"':
            in_string = not in_string
        escaped = in_string and char == "\\" and not escaped
        out.append(char)
        i += 1
    return "".join(out), expressions


def _parse(source: str) -> tuple[object, list[str]]:
    text, expressions = _placeholders(source)
    try:
        return json.loads(text), expressions
    except ValueError as exc:
        raise BodyError(f"it is not valid JSON (line {getattr(exc, 'lineno', '?')}: {getattr(exc, 'msg', exc)}).")


def body_problem(source: str) -> str | None:
    """Why a body template cannot be used, in words, or None (for the validator before publish)."""
    if not source.strip():
        return None
    try:
        _parse(source)
    except BodyError as exc:
        return str(exc)
    return None


def fill_body(source: str, context: dict) -> str:
    """The JSON text to send. Raises `BodyError` or jinja2's `TemplateError`."""
    template, expressions = _parse(source)

    def fill(node):
        if isinstance(node, dict):
            return {fill(k): fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str):
            bare = _BARE_ONLY.match(node)
            if bare:
                return evaluate_strict(expressions[int(bare.group(1))] or "none", context)
            if "\ue000" in node:
                restored = _MARK.sub(lambda m: "{{ " + expressions[int(m.group(1))] + " }}", node)
                return render_strict(restored, context)
            return render_strict(node, context) if "{%" in node else node
        return node

    try:
        return json.dumps(fill(template), ensure_ascii=False, default=str)
    except TemplateError:
        raise
    except (TypeError, ValueError) as exc:
        raise BodyError(f"a value could not be written as JSON ({exc}).")
