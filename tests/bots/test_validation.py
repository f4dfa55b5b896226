"""Every validation rule, produced from the demo bot with one mistake, and worded for a builder."""

import copy

import pytest

from bots import demo
from bots.schema import BotSnapshot
from bots.validation import validate_bot


def demo_dict() -> dict:
    return copy.deepcopy(demo.definition().model_dump(mode="json"))


def node(data: dict, node_id: str) -> dict:
    return next(n for n in data["flows"][0]["graph"]["nodes"] if n["id"] == node_id)


def problems_of(data: dict):
    return validate_bot(BotSnapshot.model_validate(data))


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, f"expected {code}, got {[p.code for p in problems]}"
    return found[0]


def test_the_demo_bot_is_valid():
    assert problems_of(demo_dict()) == []


def test_unknown_target_names_flow_step_and_field():
    data = demo_dict()
    node(data, "ask_email")["next"] = "confim_cancel"
    p = only(problems_of(data), "node.unknown_target")
    assert (p.flow, p.node, p.field) == ("Main", "ask_email", "next")
    assert p.path == "flows[0].graph.nodes[5].next"
    assert "step “ask_email” goes to “confim_cancel”" in p.message
    assert "there is no step with that name" in p.message


def test_an_output_drawn_but_not_connected_says_so():
    data = demo_dict()
    router = next(n for n in data["flows"][0]["graph"]["nodes"] if n["kind"] == "intent")
    router["routes"][0]["next"] = ""
    p = only(problems_of(data), "node.unconnected")
    assert (p.node, p.field) == (router["id"], "routes[0].next")
    assert f"an output of step “{router['id']}” (routes[0].next) is not connected to any step" in p.message
    assert "node.unknown_target" not in {q.code for q in problems_of(data)}


def test_unreachable_step():
    data = demo_dict()
    data["flows"][0]["graph"]["nodes"].append({"id": "orphan", "kind": "message", "text": "Hello?"})
    p = only(problems_of(data), "node.unreachable")
    assert p.node == "orphan"
    assert "no path leads to step “orphan”, so it can never run" in p.message


def test_flow_without_first_step_and_bot_without_entry_flow():
    data = demo_dict()
    data["flows"][0]["graph"]["entry"] = None
    assert "has no first step" in only(problems_of(data), "flow.no_entry").message
    data["flows"][0]["graph"]["entry"] = "nowhere"
    assert (
        "starts with the step “nowhere”, which does not exist" in only(problems_of(data), "flow.unknown_entry").message
    )
    data = demo_dict()
    data["flows"][0]["is_entry"] = False
    assert "No flow is marked as the start" in only(problems_of(data), "bot.no_entry_flow").message


def test_slot_read_before_set_in_template_and_condition():
    data = demo_dict()
    node(data, "ask_email")["prompt"] = "Is {{ emial }} right?"
    p = only(problems_of(data), "slot.read_before_set")
    assert (p.node, p.field) == ("ask_email", "prompt")
    assert "uses “emial” (prompt) before any step asks for it or sets it" in p.message
    data = demo_dict()
    node(data, "decide")["conditions"][0]["when"] = "confirmed == 'yes'"
    p = only(problems_of(data), "slot.read_before_set")
    assert (p.node, p.field) == ("decide", "conditions[0].when")


def test_slot_set_later_on_the_path_is_still_read_before_set():
    data = demo_dict()
    # ask_order_id runs before ask_email is ever reached on its path
    node(data, "ask_order_id")["prompt"] = "Your order for {{ email }}?"
    assert only(problems_of(data), "slot.read_before_set").node == "ask_order_id"


def test_template_and_expression_syntax():
    data = demo_dict()
    node(data, "cancelled")["text"] = "Done {{ email "
    p = only(problems_of(data), "template.syntax")
    assert p.node == "cancelled" and "has a mistake on line 1" in p.message
    data = demo_dict()
    node(data, "decide")["conditions"][0]["when"] = "confirm == "
    p = only(problems_of(data), "expression.syntax")
    assert "the condition of step “decide” (conditions[0].when) cannot be read" in p.message
    node(data, "decide")["conditions"][0]["when"] = "__import__('os')"
    assert "position 11" in only(problems_of(data), "expression.syntax").message


@pytest.mark.parametrize(
    ("node_id", "field", "value", "code", "word"),
    [
        ("faq", "prompt", "suport", "prompt.missing", "prompt “suport”"),
        ("lookup", "tool", "order_lookup", "tool.missing", "tool “order_lookup”"),
        ("faq", "knowledge_bases", ["Help"], "knowledge_base.missing", "knowledge base “Help”"),
    ],
)
def test_missing_references(node_id, field, value, code, word):
    data = demo_dict()
    node(data, node_id)[field] = value
    p = only(problems_of(data), code)
    assert p.node == node_id
    assert f"uses the {word}" in p.message and "which this bot does not have" in p.message


def test_missing_intent_in_route_flow_trigger_and_rule():
    data = demo_dict()
    node(data, "route")["routes"][0]["intent"] = "track"
    data["flows"][0]["trigger_intents"] = ["refund"]
    data["escalation_rules"][0]["intents"] = ["angry"]
    found = [p for p in problems_of(data) if p.code == "intent.missing"]
    assert {p.path for p in found} == {
        "flows[0].graph.nodes[0].routes[0].intent",
        "flows[0].trigger_intents[0]",
        "escalation_rules[0].intents[0]",
    }


def test_tool_parameters_must_be_json_schema():
    data = demo_dict()
    data["tools"][0]["parameters"] = {"type": "object", "properties": {"order_id": {"type": "strng"}}}
    p = only(problems_of(data), "tool.invalid_parameters")
    assert p.path == "tools[0].parameters"
    assert "parameters of tool “order_status” are not a valid JSON Schema" in p.message


def test_every_problem_is_reported_at_once():
    data = demo_dict()
    node(data, "ask_email")["next"] = "gone"
    node(data, "faq")["prompt"] = "nope"
    data["tools"][0]["parameters"] = {"type": 5}
    codes = {p.code for p in problems_of(data)}
    assert {"node.unknown_target", "prompt.missing", "tool.invalid_parameters"} <= codes


def test_tool_secrets_must_exist_and_be_declared():
    data = demo_dict()
    data["tools"][0]["headers"] = {"Authorization": "Bearer {{ secrets.SHOP_KEY }}"}
    p = only(problems_of(data), "secret.not_declared")
    assert p.path == "tools[0].headers.Authorization"
    assert "does not list “SHOP_KEY” among the secrets it may use" in p.message
    data["tools"][0]["secrets"] = ["SHOP_KEY"]
    assert problems_of(data) == []  # without the workspace's secrets, only the declaration is checked
    found = validate_bot(BotSnapshot.model_validate(data), secrets={"OTHER"})
    p = only(found, "secret.missing")
    assert (
        p.path == "tools[0].secrets[0]"
        and "needs the secret “SHOP_KEY”, which this workspace does not have" in p.message
    )
    assert validate_bot(BotSnapshot.model_validate(data), secrets={"SHOP_KEY"}) == []


@pytest.mark.parametrize(("pattern", "why"), [(None, "there is none"), ("[A-Z", "unterminated character set")])
def test_a_format_step_without_a_usable_pattern_says_so(pattern, why):
    data = demo_dict()
    step = node(data, "ask_email")
    step.update(type="regex", pattern=pattern)
    p = only(problems_of(data), "slot.pattern")
    assert (p.node, p.field) == ("ask_email", "pattern")
    assert why in p.message and "Write the format the answer must have" in p.message
