"""Reads for the studio pages: the builder's bot data and the draft validated with unsaved edits.

Bots are always fetched through `bots.access` by the views; these functions take the bot.
"""

from __future__ import annotations

from pydantic import ValidationError as SchemaError

from bots.models import Bot
from bots.schema import NODE_KINDS, FlowGraph
from bots.selectors import draft_snapshot, knowledge_bases_of, versions_of
from bots.validation import validate_bot
from studio.models import BotTestCase


def builder_data(bot: Bot) -> dict:
    """Everything the builder page needs about the bot, embedded in the page as JSON."""
    return {
        "bot": {
            "id": bot.id,
            "name": bot.name,
            "prompts": list(bot.prompts.values_list("name", flat=True)),
            "tools": [{"name": t.name, "parameters": t.parameters} for t in bot.tools.all()],
            "intents": list(bot.intents.values_list("name", flat=True)),
            "knowledge_bases": [kb["name"] for kb in knowledge_bases_of(bot)],
        },
        "flows": [
            {"id": f.id, "name": f.name, "graph": f.graph, "revision": f.revision, "is_entry": f.is_entry}
            for f in bot.flows.all()
        ],
        "versions": [{"id": v.id, "number": v.number, "is_current": v.is_current} for v in versions_of(bot)],
    }


# pydantic's error types in plain words; anything else falls back to pydantic's own message.
PLAIN_WORDS = {
    "missing": "this must be filled in",
    "string_pattern_mismatch": "use lowercase letters, digits and _ only, starting with a letter",
    "string_too_short": "this cannot be empty",
    "string_too_long": "this is too long",
    "too_short": "add at least one",
    "too_long": "there are too many",
    "int_parsing": "this must be a whole number",
    "float_parsing": "this must be a number",
    "greater_than_equal": "this number is too small",
    "less_than_equal": "this number is too large",
    "literal_error": "choose one of the offered values",
}


def _schema_problems(flow_name: str, graph: dict, exc: SchemaError) -> list[dict]:
    """pydantic's errors on an edited graph, worded like `bots.validation` and placed on their node."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        node = None
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int) and isinstance(nodes, list):
            raw = nodes[loc[1]] if loc[1] < len(nodes) else {}
            node = raw.get("id") if isinstance(raw, dict) else None
            loc = loc[3:] if len(loc) > 2 and loc[2] in NODE_KINDS else loc[2:]
        field = ".".join(str(p) for p in loc) or None
        where = f"step “{node}”" if node else "the flow"
        problems.append(
            {
                "code": "schema.invalid",
                "message": f"In flow “{flow_name}”, {where} ({field}): {PLAIN_WORDS.get(err['type'], err['msg'])}.",
                "path": ".".join(str(p) for p in err["loc"]),
                "flow": flow_name,
                "node": node,
                "field": field,
            }
        )
    return problems


def validate_with_edit(bot: Bot, flow_id: int, graph: dict) -> list[dict]:
    """The bot's validation problems as if flow `flow_id` had `graph` (the builder's unsaved edit)."""
    flow = bot.flows.get(pk=flow_id)
    try:
        edited = FlowGraph.model_validate(graph)
    except SchemaError as exc:
        return _schema_problems(flow.name, graph, exc)
    snapshot = draft_snapshot(bot)
    flows = [f.model_copy(update={"graph": edited}) if f.name == flow.name else f for f in snapshot.flows]
    problems = validate_bot(snapshot.model_copy(update={"flows": flows}))
    return [p.as_dict() for p in problems]


def test_cases_of(bot: Bot):
    return BotTestCase.objects.filter(bot=bot)
