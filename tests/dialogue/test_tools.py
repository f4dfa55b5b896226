"""HTTP tools: secrets injected, the kept response field truncated, bad arguments refused."""

from __future__ import annotations

from bots.schema import ToolSpec
from bots.services import set_secret
from conversations.models import TurnTrace
from tests.dialogue.bots import bot
from tests.dialogue.conftest import Talk, first

FLOW = """
flows:
  - name: lookup
    trigger_keywords: [lookup]
    graph:
      entry: ask
      nodes:
        - {id: ask, kind: ask, slot: order_id, type: digits, prompt: "Which order?", next: call}
        - id: call
          kind: tool
          tool: shop
          arguments: {order_id: "{{ order_id }}"}
          result_slot: status
          next: say
          on_error: failed
        - {id: say, kind: message, text: "Status: {{ status }}"}
        - {id: failed, kind: message, text: "Lookup failed."}
"""


def _snapshot(tool_server, **tool):
    spec = ToolSpec(
        name="shop",
        url=tool_server.server.base_url + "/orders/{{ order_id }}",
        headers={"Authorization": "Bearer {{ secrets.SHOP_KEY }}"},
        secrets=["SHOP_KEY"],
        parameters={"type": "object", "properties": {"order_id": {"type": "string", "pattern": "^[0-9]+$"}}},
        **tool,
    )
    return bot(FLOW).model_copy(update={"tools": [spec]})


def test_secrets_reach_the_service_but_never_the_records(acme_bot, tool_server):
    set_secret(workspace=acme_bot.workspace, name="SHOP_KEY", value="sk-live-abcdef123456", hosts=["127.0.0.1"])
    talk = Talk(acme_bot, _snapshot(tool_server, response_field="status"))
    talk.say("lookup please")
    assert talk.say("1002") == "Status: being packed"
    assert tool_server.requests[-1]["headers"]["authorization"] == "Bearer sk-live-abcdef123456"
    assert "sk-live" not in str(list(TurnTrace.objects.values_list("debug", flat=True)))


def test_another_workspaces_secret_is_not_used(acme_bot, tool_server, db):
    from bots.models import Workspace

    other = Workspace.objects.create(name="Globex", slug="globex")
    set_secret(workspace=other, name="SHOP_KEY", value="sk-globex-000000000")
    talk = Talk(acme_bot, _snapshot(tool_server))
    talk.say("lookup")
    sent = len(tool_server.requests)
    events = talk.send("1001")
    assert first(events, "tool_finished").result == "shop needs the workspace secret SHOP_KEY, which is not set."
    assert len(tool_server.requests) == sent


def test_the_kept_field_is_truncated_to_its_limit(acme_bot, tool_server):
    set_secret(workspace=acme_bot.workspace, name="SHOP_KEY", value="sk-live-abcdef123456", hosts=["127.0.0.1"])
    talk = Talk(acme_bot, _snapshot(tool_server, max_chars=50))
    talk.say("lookup")
    events = talk.send("1001")
    result = first(events, "tool_finished").result
    assert len(result) == 50 and result.endswith("…")


def test_arguments_failing_the_schema_are_refused_before_any_request(acme_bot, tool_server):
    set_secret(workspace=acme_bot.workspace, name="SHOP_KEY", value="sk-live-abcdef123456", hosts=["127.0.0.1"])
    snapshot = _snapshot(tool_server)
    flow = snapshot.flows[0]
    graph = flow.graph.model_copy(deep=True)
    next(n for n in graph.nodes if n.id == "call").arguments = {"order_id": "12/../../admin"}
    talk = Talk(acme_bot, snapshot.model_copy(update={"flows": [flow.model_copy(update={"graph": graph})]}))
    sent = len(tool_server.requests)
    talk.say("lookup")
    events = talk.send("1001")
    assert "Invalid arguments for shop" in first(events, "tool_finished").result
    assert first(events, "message").text == "Lookup failed."
    assert len(tool_server.requests) == sent
