"""Declared HTTP tools: validate the arguments, fill the request, call it through `netguard`.

Whatever happens, the result is a `ToolResult` whose `text` the LLM (or a `tool` node's slot)
can use: a refused address, a timeout or an HTTP 500 become a sentence, never an exception,
so the model can apologise or try something else.

Requests are filled structurally, so a value can never change the request's shape: every
argument reaching the URL (by name or through `args`) is percent-encoded, dots of a `.` or `..`
segment included, and a whole list or object is refused; header values may not hold line breaks,
and a JSON body is
parsed as JSON *before* anything is filled in, then each `{{ }}` is filled with a value and the
whole serialised again (`body.py`): a quote in a user's answer stays inside its string. The
templates are filled on a worker thread under the sandbox's budgets. `timeout_s` bounds the
whole call, redirects included; secrets go only to the hosts they are bound to.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import jsonschema
from jinja2 import TemplateError

from bots.schema import ToolSpec
from dialogue import netguard
from dialogue.body import BodyError, fill_body
from dialogue.templating import render_strict


@dataclass
class ToolResult:
    ok: bool
    text: str
    data: object = None


class _Refused(Exception):
    """The request cannot be built; the message is the tool's result."""


def _pick(data, path: str):
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def openai_schema(spec: ToolSpec) -> dict:
    """The tool as the Chat Completions API declares functions."""
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description or spec.name, "parameters": spec.parameters},
    }


def _fill(spec: ToolSpec, arguments: dict, secrets: dict[str, str]) -> tuple[str, dict, str | None]:
    """URL, headers and body of the request. Runs on a worker thread: templates may be slow."""
    context = {**arguments, "args": arguments, "secrets": secrets}
    try:
        url = render_strict(spec.url, _url_context(arguments, secrets))
        headers = {}
        for name, template in spec.headers.items():
            value = render_strict(template, context).strip()
            if any(c in value for c in "\r\n\0"):
                raise _Refused(f"The {name} header of {spec.name} would contain a line break; it was not sent.")
            headers[name] = value
        body = None
        if spec.method in ("POST", "PUT", "PATCH"):
            body = fill_body(spec.body, context) if spec.body else json.dumps(arguments)
            headers.setdefault("Content-Type", "application/json")
    except BodyError as exc:
        raise _Refused(f"The body of {spec.name} could not be built: {exc}")
    except TemplateError as exc:
        raise _Refused(f"The request of {spec.name} could not be filled in: {exc}")
    return url, headers, body


async def run_tool(
    spec: ToolSpec,
    arguments: dict,
    *,
    secrets: dict[str, netguard.BoundSecret],
    policy: netguard.Policy,
) -> ToolResult:
    try:
        jsonschema.validate(arguments, spec.parameters)
    except jsonschema.ValidationError as exc:
        return ToolResult(False, f"Invalid arguments for {spec.name}: {exc.message}")
    except jsonschema.SchemaError:
        return ToolResult(False, f"The tool {spec.name} has an invalid parameter schema.")
    missing = [name for name in spec.secrets if name not in secrets or not secrets[name].value]
    if missing:
        return ToolResult(False, f"{spec.name} needs the workspace secret {missing[0]}, which is not set.")
    bound = [secrets[name] for name in spec.secrets]
    try:
        url, headers, body = await asyncio.to_thread(_fill, spec, arguments, {s.name: s.value for s in bound})
    except _Refused as exc:
        return ToolResult(False, str(exc))
    try:
        resp = await netguard.fetch(
            spec.method,
            url,
            headers=headers,
            content=body,
            policy=policy,
            secrets=bound,
            timeout_s=spec.timeout_s,
            max_bytes=max(spec.max_chars * 50, 100_000),
        )
    except netguard.SecretNotAllowed as exc:
        return ToolResult(False, f"{spec.name} was not called: {exc}")
    except netguard.OutboundError as exc:
        return ToolResult(False, f"The call to {spec.name} was refused: {exc}")
    except httpx.TimeoutException:
        return ToolResult(False, f"{spec.name} did not answer within {spec.timeout_s:g} seconds.")
    except httpx.HTTPError as exc:
        return ToolResult(False, f"{spec.name} could not be reached ({type(exc).__name__}).")
    if not resp.ok:
        return ToolResult(False, f"{spec.name} answered HTTP {resp.status_code}: {_truncate(resp.text, 200)}")
    try:
        data = resp.json()
    except ValueError:
        return ToolResult(True, _truncate(resp.text, spec.max_chars), resp.text)
    if spec.response_field:
        data = _pick(data, spec.response_field)
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return ToolResult(True, _truncate(text, spec.max_chars), data)


def _url_context(arguments: dict, secrets: dict[str, str]) -> dict:
    # Secrets stay as typed: they are the builder's, and netguard looks for them verbatim.
    encoded = _url_value(arguments)
    return {**encoded, "args": encoded, "secrets": secrets}


def _url_value(value):
    """A conversation's value as it may land in a URL: "a/b", "?", "#" or ".." must not become
    a path, a query or a fragment. Lists and objects keep their items, each encoded."""
    if isinstance(value, dict):
        return _UrlObject({_url_text(k): _url_value(v) for k, v in value.items()})
    if isinstance(value, list):
        return _UrlList(_url_value(v) for v in value)
    return _url_text(value)


def _url_text(value) -> str:
    text = quote(str(value), safe="")
    # quote() keeps dots, and the HTTP client drops a "." or ".." segment (with its parent).
    return text.replace(".", "%2E") if text in (".", "..") else text


def _whole(_value) -> str:
    raise TypeError(
        "a list or an object cannot go into a URL whole; pick one item ({{ ids[0] }}, {{ order.id }}) "
        "or join them ({{ ids | join(',') }})"
    )


class _UrlList(list):
    __str__ = _whole


class _UrlObject(dict):
    __str__ = _whole
