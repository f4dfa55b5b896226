"""“Test this tool” in the admin: call a bot's draft tool with example arguments, exactly as a
conversation would (the workspace's secrets and outbound rules, `Runtime.call_tool`), and report
what the service answered and what the bot would get from it."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from asgiref.sync import async_to_sync

from bots import selectors
from bots.models import Tool
from dialogue import netguard
from dialogue.runtime import Runtime
from dialogue.turn import workspace_secrets

SAFE_TO_REPEAT = ("GET",)


@dataclass
class ToolCheck:
    ok: bool
    bot_gets: str
    response: str | None  # the whole answer; None when calling twice could change something


def typed_arguments(tool: Tool, raw: dict[str, str]) -> dict:
    """Form text turned into the types the tool's parameters declare; blanks left out."""
    properties = (tool.parameters or {}).get("properties") or {}
    out = {}
    for name, text in raw.items():
        if name not in properties or text == "":
            continue
        kind = properties[name].get("type")
        try:
            out[name] = {"integer": int, "number": float}.get(kind, str)(text)
        except ValueError:
            out[name] = text  # the tool's own validation says what is wrong with it
        if kind == "boolean":
            out[name] = text.strip().lower() in ("yes", "true", "1")
    return out


def check_tool(tool: Tool, arguments: dict) -> ToolCheck:
    snapshot = selectors.draft_snapshot(tool.bot)
    spec = next(t for t in snapshot.tools if t.name == tool.name)
    workspace = tool.bot.workspace
    runtime = Runtime(
        snapshot,
        secrets=functools.partial(workspace_secrets, workspace.pk),
        outbound=netguard.Policy.for_workspace(workspace),
    )

    async def call() -> ToolCheck:
        result = await runtime.call_tool(spec, arguments)
        if not result.ok or spec.method not in SAFE_TO_REPEAT:
            return ToolCheck(result.ok, result.text, None)
        whole = await runtime.call_tool(spec.model_copy(update={"response_field": "", "max_chars": 20000}), arguments)
        return ToolCheck(result.ok, result.text, whole.text)

    return async_to_sync(call)()
