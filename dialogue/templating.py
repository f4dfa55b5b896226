"""Sandboxed Jinja2 for everything a builder writes: messages, prompts, tool URLs and bodies.

The sandbox refuses attribute access to internals (`__class__`, `mro`...), so a template can read
slots but never reach Python objects. A broken template renders as its source instead of
failing the turn; the bot validator reports template syntax errors before publish.
"""

from __future__ import annotations

import json
from functools import lru_cache
from urllib.parse import quote

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_env = ImmutableSandboxedEnvironment(autoescape=False)
_env.filters["urlencode_component"] = lambda v: quote(str(v), safe="")
_env.filters["tojson"] = lambda v: json.dumps(v)


@lru_cache(maxsize=4096)
def _compile(source: str):
    return _env.from_string(source)


def render(source: str, context: dict) -> str:
    if "{" not in source:
        return source  # most texts are plain: skip Jinja entirely
    try:
        return _compile(source).render(**context)
    except TemplateError:
        return source


def check(source: str) -> str | None:
    """The syntax error of a template, in words, or None."""
    try:
        _compile(source)
    except TemplateError as exc:
        return f"Template error: {exc}"
    return None
