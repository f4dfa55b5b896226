"""Checks a bot definition before it is saved or published.

`validate_bot(snapshot)` returns every problem at once, each with a stable `code` (tests, the
flow builder and the API key on it) and a message a non-developer can act on, naming the flow,
the step and the field. The dialogue engine runs snapshots that passed these checks, so it can
trust that targets exist and referenced prompts, tools and intents are there.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass

import jsonschema
from jinja2 import TemplateSyntaxError, meta

from bots import expression_check
from bots.schema import BotSnapshot, FlowSpec
from dialogue import templating
from dialogue.body import body_problem
from dialogue.slots import pattern_error

# Names every template and condition may read without a step setting them first.
BUILTIN_NAMES = frozenset(
    {"intent", "confidence", "channel", "now", "today", "time", "hour", "weekday", "message", "language", "bot"}
    | {"conversation", "secrets", "slots", "user"}
)

_SECRET_USE = re.compile(r"\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    path: str  # where in the bot definition (and its YAML export): flows[0].graph.nodes[2].next
    flow: str | None = None
    node: str | None = None
    field: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


# --- What each node kind reads, writes and points at (a registry, not a chain of ifs) -------------


@dataclass
class NodeFacts:
    targets: list[tuple[str, str | None]]  # (field, node id)
    templates: list[tuple[str, str]]  # (field, Jinja2 text)
    expressions: list[tuple[str, str]]  # (field, condition)
    writes: list[str]  # slots
    refs: list[tuple[str, str, str]]  # (field, "prompt" | "tool" | "intent" | "knowledge_base" | "flow", name)


def _facts(**kw) -> NodeFacts:
    return NodeFacts(**{"targets": [], "templates": [], "expressions": [], "writes": [], "refs": [], **kw})


NODE_FACTS = {
    "message": lambda n: _facts(targets=[("next", n.next)], templates=[("text", n.text)]),
    "ask": lambda n: _facts(
        targets=[("next", n.next), ("on_failure", n.on_failure)],
        templates=[("prompt", n.prompt), ("reprompt", n.reprompt)],
        writes=[n.slot],
    ),
    "branch": lambda n: _facts(
        targets=[(f"conditions[{i}].next", c.next) for i, c in enumerate(n.conditions)] + [("else", n.otherwise)],
        expressions=[(f"conditions[{i}].when", c.when) for i, c in enumerate(n.conditions)],
    ),
    "intent": lambda n: _facts(
        targets=[(f"routes[{i}].next", r.next) for i, r in enumerate(n.routes)] + [("fallback", n.fallback)],
        refs=[(f"routes[{i}].intent", "intent", r.intent) for i, r in enumerate(n.routes)],
    ),
    "llm": lambda n: _facts(
        targets=[("next", n.next)],
        refs=[("prompt", "prompt", n.prompt)]
        + [(f"knowledge_bases[{i}]", "knowledge_base", k) for i, k in enumerate(n.knowledge_bases)]
        + [(f"tools[{i}]", "tool", t) for i, t in enumerate(n.tools)]
        + [(f"flows[{i}]", "flow", f) for i, f in enumerate(n.flows)],
    ),
    "tool": lambda n: _facts(
        targets=[("next", n.next), ("on_error", n.on_error)],
        templates=[(f"arguments.{k}", v) for k, v in n.arguments.items()],
        writes=[n.result_slot] if n.result_slot else [],
        refs=[("tool", "tool", n.tool)],
    ),
    "set": lambda n: _facts(
        targets=[("next", n.next)],
        templates=[(f"values.{k}", v) for k, v in n.values.items()],
        writes=list(n.values) + list(n.clear),
    ),
    "handoff": lambda n: _facts(templates=[("message", n.message)]),
    "end": lambda n: _facts(templates=[("message", n.message)]),
}

_REF_WORDS = {
    "prompt": "prompt",
    "tool": "tool",
    "intent": "intent",
    "knowledge_base": "knowledge base",
    "flow": "flow",
}


def template_names(text: str) -> set[str]:
    """The top-level names a template reads. Raises TemplateSyntaxError."""
    # Parsed by the rendering sandbox: its analysis folds constants, and a plain environment would
    # compute `{{ "x" * 10**10 }}` right here.
    return set(meta.find_undeclared_variables(templating.parse(text)))


# --- The checks -------------------------------------------------------------------------------------


def validate_bot(snapshot: BotSnapshot, *, secrets: Collection[str] | None = None) -> list[Problem]:
    """Every problem of the bot. `secrets`, the names of the workspace's secrets, also checks
    that the secrets tools need exist (a bot imported from elsewhere brings only their names)."""
    problems: list[Problem] = []
    problems += _check_entry_flow(snapshot)
    available = {
        "prompt": {p.name for p in snapshot.prompts},
        "tool": {t.name for t in snapshot.tools},
        "intent": {i.name for i in snapshot.intents},
        "knowledge_base": {k["name"] for k in snapshot.knowledge_bases},
        "flow": {f.name for f in snapshot.flows},
    }
    # Slots outlive the flow that set them: a slot set in another flow counts as set.
    writes = [{slot for n in f.graph.nodes for slot in NODE_FACTS[n.kind](n).writes} for f in snapshot.flows]
    for index, flow in enumerate(snapshot.flows):
        elsewhere = set().union(*(w for j, w in enumerate(writes) if j != index))
        problems += _check_flow(index, flow, available, elsewhere)
    for index, tool in enumerate(snapshot.tools):
        problems += _check_tool(index, tool, secrets)
    for index, rule in enumerate(snapshot.escalation_rules):
        for j, name in enumerate(rule.intents):
            if name not in available["intent"]:
                problems.append(
                    Problem(
                        "intent.missing",
                        f"The escalation rule “{rule.name}” mentions the intent “{name}”, which this bot does not have. "
                        "Add that intent or remove it from the rule.",
                        f"escalation_rules[{index}].intents[{j}]",
                        field="intents",
                    )
                )
    return problems


def _check_entry_flow(snapshot: BotSnapshot) -> list[Problem]:
    entries = [f.name for f in snapshot.flows if f.is_entry]
    if len(entries) == 1:
        return []
    if not entries:
        return [
            Problem(
                "bot.no_entry_flow",
                "No flow is marked as the start of a conversation. Tick “entry flow” on exactly one flow.",
                "flows",
            )
        ]
    return [
        Problem(
            "bot.many_entry_flows",
            f"Several flows are marked as the start of a conversation ({', '.join(entries)}). Keep exactly one.",
            "flows",
        )
    ]


def _check_flow(index: int, flow: FlowSpec, available: dict, set_elsewhere: set[str]) -> Iterator[Problem]:
    base = f"flows[{index}]"
    graph = flow.graph
    ids = [n.id for n in graph.nodes]
    positions = {node_id: i for i, node_id in enumerate(ids)}

    def problem(code, message, node_index=None, field=None):
        path = base if node_index is None else f"{base}.graph.nodes[{node_index}]"
        node = None if node_index is None else graph.nodes[node_index].id
        return Problem(code, message, f"{path}.{field}" if field else path, flow.name, node, field)

    for i, node_id in enumerate(ids):
        if ids.index(node_id) != i:
            yield problem(
                "node.duplicate_id",
                f"In flow “{flow.name}”, two steps are called “{node_id}”. Rename one of them.",
                i,
                "id",
            )
    for i, node in enumerate(graph.nodes):
        if node.kind == "ask" and node.type == "regex":
            why = pattern_error(node.pattern) if node.pattern else "there is none"
            if why:
                yield problem(
                    "slot.pattern",
                    f"In flow “{flow.name}”, the pattern of step “{node.id}” cannot be used ({why}). "
                    "Write the format the answer must have, e.g. [A-Z]{3}-\\d{2}.",
                    i,
                    "pattern",
                )
    for j, name in enumerate(flow.trigger_intents):
        if name not in available["intent"]:
            yield Problem(
                "intent.missing",
                f"Flow “{flow.name}” starts on the intent “{name}”, which this bot does not have. "
                "Add that intent or remove it from the flow's triggers.",
                f"{base}.trigger_intents[{j}]",
                flow.name,
                field="trigger_intents",
            )
    if not graph.nodes:
        yield problem("flow.empty", f"Flow “{flow.name}” has no steps. Add at least one step.")
        return
    if graph.entry is None:
        yield problem(
            "flow.no_entry",
            f"Flow “{flow.name}” has no first step. Choose which step the flow starts with.",
            field="graph.entry",
        )
        return
    if graph.entry not in positions:
        yield problem(
            "flow.unknown_entry",
            f"Flow “{flow.name}” starts with the step “{graph.entry}”, which does not exist. "
            "Choose one of its steps as the first step.",
            field="graph.entry",
        )
        return

    facts = [NODE_FACTS[n.kind](n) for n in graph.nodes]
    edges: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for i, (node, fact) in enumerate(zip(graph.nodes, facts, strict=True)):
        for field, target in fact.targets:
            if target is None:
                continue
            if not target.strip():
                # The builder sends an output drawn but not yet connected as an empty target.
                yield problem(
                    "node.unconnected",
                    f"In flow “{flow.name}”, an output of step “{node.id}” ({field}) is not connected to any "
                    "step. Connect it to a step, or remove it.",
                    i,
                    field,
                )
            elif target not in positions:
                yield problem(
                    "node.unknown_target",
                    f"In flow “{flow.name}”, step “{node.id}” goes to “{target}” ({field}), but there is no step "
                    f"with that name. Pick an existing step or add one called “{target}”.",
                    i,
                    field,
                )
            else:
                edges[node.id].append(target)
        for field, kind, name in fact.refs:
            if name not in available[kind]:
                word = _REF_WORDS[kind]
                yield problem(
                    f"{kind}.missing",
                    f"In flow “{flow.name}”, step “{node.id}” uses the {word} “{name}” ({field}), which this bot "
                    f"does not have. Create a {word} with that name or choose an existing one.",
                    i,
                    field,
                )

    reachable = _reach(graph.entry, edges)
    for i, node in enumerate(graph.nodes):
        if node.id not in reachable:
            yield problem(
                "node.unreachable",
                f"In flow “{flow.name}”, no path leads to step “{node.id}”, so it can never run. "
                "Connect a step to it or delete it.",
                i,
            )

    reach = {node_id: _reach_from_successors(node_id, edges) for node_id in ids}
    for i, (node, fact) in enumerate(zip(graph.nodes, facts, strict=True)):
        if node.id not in reachable:
            continue
        # Steps on some path to this one; in a loop that includes the step itself (its answer is set next time).
        ancestors = {a for a in ids if node.id in reach[a]}
        known = (
            BUILTIN_NAMES
            | set_elsewhere
            | {slot for j, f in enumerate(facts) if ids[j] in ancestors for slot in f.writes}
        )
        for field, text in fact.templates:
            try:
                names = template_names(text)
            except TemplateSyntaxError as exc:
                yield problem(
                    "template.syntax",
                    f"In flow “{flow.name}”, the text of step “{node.id}” ({field}) has a mistake on line "
                    f"{exc.lineno}: {exc.message}. Slots are written like {{{{ name }}}}.",
                    i,
                    field,
                )
                continue
            yield from _unset(problem, flow, node, i, field, names - known)
        for field, text in fact.expressions:
            try:
                names = expression_check.names(text)
            except expression_check.ExpressionError as exc:
                yield problem(
                    "expression.syntax",
                    f"In flow “{flow.name}”, the condition of step “{node.id}” ({field}) cannot be read: {exc} "
                    'Conditions look like: plan == "pro" and age >= 18.',
                    i,
                    field,
                )
                continue
            yield from _unset(problem, flow, node, i, field, names - known)


def _unset(problem, flow, node, i, field, names):
    for name in sorted(names):
        yield problem(
            "slot.read_before_set",
            f"In flow “{flow.name}”, step “{node.id}” uses “{name}” ({field}) before any step asks for it or sets it. "
            f"Add an “ask” or “set” step for “{name}” earlier in the flow, or fix the spelling.",
            i,
            field,
        )


def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _reach_from_successors(node_id: str, edges: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    for nxt in edges[node_id]:
        seen |= _reach(nxt, edges)
    return seen


def _check_tool(index: int, tool, secrets: Collection[str] | None) -> Iterator[Problem]:
    base = f"tools[{index}]"
    for j, name in enumerate(tool.secrets):
        if secrets is not None and name not in secrets:
            yield Problem(
                "secret.missing",
                f"Tool “{tool.name}” needs the secret “{name}”, which this workspace does not have. "
                "An owner can add it under Secrets.",
                f"{base}.secrets[{j}]",
                field="secrets",
            )
    try:
        jsonschema.Draft202012Validator.check_schema(tool.parameters)
    except jsonschema.SchemaError as exc:
        where = ".".join(str(p) for p in exc.path) or "the top level"
        yield Problem(
            "tool.invalid_parameters",
            f"The parameters of tool “{tool.name}” are not a valid JSON Schema (at {where}: {exc.message}). "
            'A simple example: {"type": "object", "properties": {"order_id": {"type": "string"}}}.',
            f"{base}.parameters",
            field="parameters",
        )
    for field, text in [("url", tool.url), ("body", tool.body)] + [
        (f"headers.{k}", v) for k, v in tool.headers.items()
    ]:
        for name in sorted(set(_SECRET_USE.findall(text)) - set(tool.secrets)):
            yield Problem(
                "secret.not_declared",
                f"Tool “{tool.name}” uses secrets.{name} in its {field} but does not list “{name}” among the "
                "secrets it may use. Add it to the tool's secrets.",
                f"{base}.{field}",
                field=field,
            )
        try:
            template_names(text)
        except TemplateSyntaxError as exc:
            yield Problem(
                "template.syntax",
                f"The {field} of tool “{tool.name}” has a mistake on line {exc.lineno}: {exc.message}.",
                f"{base}.{field}",
                field=field,
            )
    problem = body_problem(tool.body)
    if problem:
        yield Problem(
            "tool.body_not_json",
            f"The body of tool “{tool.name}” must be JSON with {{{{ }}}} where values go, e.g. "
            f'{{"order": "{{{{ order_id }}}}", "qty": {{{{ qty }}}}}}; {problem}',
            f"{base}.body",
            field="body",
        )
