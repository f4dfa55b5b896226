"""A readable difference between two published versions of a bot.

Lists of named things (flows, prompts, steps...) are matched by name or step id, not by
position, so moving a prompt or adding a step reads as one change, not a cascade.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

_SECTIONS = {
    "flows": "Flow",
    "prompts": "Prompt",
    "tools": "Tool",
    "intents": "Intent",
    "escalation_rules": "Escalation rule",
    "knowledge_bases": "Knowledge base",
}
_IGNORED = {"bot_id", "schema_version"}


@dataclass(frozen=True)
class Change:
    kind: str  # "added" | "removed" | "changed"
    where: str  # e.g. "Flow “Cancel order” › step ask_email › prompt"
    before: str = ""
    after: str = ""

    def __str__(self) -> str:
        if self.kind == "changed":
            return f"{self.where}: {self.before} → {self.after}"
        return f"{self.where} {self.kind}"


def diff_snapshots(old: dict, new: dict) -> list[Change]:
    changes: list[Change] = []
    for key in sorted((set(old) | set(new)) - _IGNORED - set(_SECTIONS)):
        changes += _diff_value(f"Bot settings › {key}", old.get(key), new.get(key))
    for key, label in _SECTIONS.items():
        before, after = _by_name(old.get(key, [])), _by_name(new.get(key, []))
        for name in after.keys() - before.keys():
            changes.append(Change("added", f"{label} “{name}”"))
        for name in before.keys() - after.keys():
            changes.append(Change("removed", f"{label} “{name}”"))
        for name in sorted(before.keys() & after.keys()):
            changes += _diff_value(f"{label} “{name}”", before[name], after[name])
    return changes


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {item.get("name") or item.get("id"): item for item in items}


def _keyed(items: list) -> dict | None:
    if items and all(isinstance(i, dict) and "id" in i for i in items):
        return {i["id"]: i for i in items}
    return None


def _diff_value(where: str, before, after) -> list[Change]:
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in sorted(set(before) | set(after)):
            # A flow's graph is its steps: "Flow “Main” › step faq", not "› graph › nodes › faq".
            inner = where if key == "graph" else f"{where} › {'steps' if key == 'nodes' else key}"
            out += _diff_value(inner, before.get(key), after.get(key))
        return out
    if isinstance(before, list) and isinstance(after, list):
        old, new = _keyed(before), _keyed(after)
        if old is not None and new is not None:
            where = where.removesuffix(" › steps")
            out = [Change("added", f"{where} › step {k}") for k in new.keys() - old.keys()]
            out += [Change("removed", f"{where} › step {k}") for k in old.keys() - new.keys()]
            for k in sorted(old.keys() & new.keys()):
                out += _diff_value(f"{where} › step {k}", old[k], new[k])
            return out
    return [Change("changed", where, _show(before), _show(after))]


def _show(value) -> str:
    if value is None:
        return "(nothing)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "…"
