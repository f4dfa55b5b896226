"""Declared HTTP tools: validate the arguments, fill the request, call it through `netguard`.

Whatever happens, the result is a `ToolResult` whose `text` the LLM (or a `tool` node's slot)
can use: a refused address, a timeout or an HTTP 500 become a sentence, never an exception,
so the model can apologise or try something else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import jsonschema

from bots.schema import ToolSpec
from dialogue import netguard
from dialogue.templating import render


@dataclass
class ToolResult:
    ok: bool
    text: str
    data: object = None


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


async def run_tool(spec: ToolSpec, arguments: dict, *, secrets: dict[str, str], allowed_hosts: list[str]) -> ToolResult:
    try:
        jsonschema.validate(arguments, spec.parameters)
    except jsonschema.ValidationError as exc:
        return ToolResult(False, f"Invalid arguments for {spec.name}: {exc.message}")
    except jsonschema.SchemaError:
        return ToolResult(False, f"The tool {spec.name} has an invalid parameter schema.")
    missing = [name for name in spec.secrets if not secrets.get(name)]
    if missing:
        return ToolResult(False, f"{spec.name} needs the workspace secret {missing[0]}, which is not set.")
    url_context = {k: _quote(v) for k, v in arguments.items()}
    context = {**arguments, "args": arguments, "secrets": {k: secrets.get(k, "") for k in spec.secrets}}
    url = render(spec.url, {**context, **url_context})
    headers = {k: render(v, context).strip() for k, v in spec.headers.items()}
    body = None
    if spec.method in ("POST", "PUT", "PATCH"):
        body = render(spec.body, context) if spec.body else json.dumps(arguments)
        headers.setdefault("Content-Type", "application/json")
    try:
        resp = await netguard.fetch(
            spec.method,
            url,
            headers=headers,
            content=body,
            allowed_hosts=allowed_hosts,
            timeout_s=spec.timeout_s,
            max_bytes=max(spec.max_chars * 50, 100_000),
        )
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


def _quote(value):
    """Arguments are URL-encoded where they land in the URL: "a/b" must not become a path."""
    return quote(str(value), safe="") if isinstance(value, str | int | float) else value
