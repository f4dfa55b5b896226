"""Tools as forms: the tables a builder fills in (sign-in, headers, parameters, body fields) become
the stored JSON and read back from it, an edited JSON box wins, and “Test this tool” calls the
real service, showing its whole answer and the part the bot gets."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bots.admin.tool_form import ToolSettingsForm
from bots.models import Bot, Membership, Tool, Workspace
from tests.bots.conftest import make_user
from tests.dialogue.conftest import tool_server  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def table(prefix: str, rows: list[dict]) -> dict:
    return {f"{prefix}-{i}-{k}": v for i, row in enumerate(rows) for k, v in row.items()}


def form_data(tool: Tool | None = None, **changes) -> dict:
    """What the browser sends for a tool: the form as shown, with `changes` typed in."""
    form = ToolSettingsForm(instance=tool or Tool())
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if name.endswith("_rows"):
            data |= table(name, value or [])
        elif isinstance(value, (dict, list)):
            data[name] = field.prepare_value(value)
        elif value is not None:
            data[name] = value
    return data | changes


@pytest.fixture
def shop():
    workspace = Workspace.objects.create(
        name="Shop", slug="shop-tools", tool_allowed_hosts=["127.0.0.1"], allow_private_networks=True
    )
    return Bot.objects.create(workspace=workspace, name="Shop bot", slug="shop-bot")


def test_the_tables_become_the_stored_json_and_read_back(shop):
    data = form_data(
        name="order_status",
        method="POST",
        url="https://api.shop.test/orders",
        auth="bearer",
        auth_secret="SHOP_KEY",
        **table("header_rows", [{"name": "X-Shop", "value": "acme"}]),
        **table(
            "parameter_rows", [{"name": "order_id", "type": "string", "required": "yes", "description": "The number"}]
        ),
        **table("body_rows", [{"name": "id", "value": "{{ order_id }}"}]),
    )
    form = ToolSettingsForm(data, instance=Tool(bot=shop))
    assert form.is_valid(), form.errors
    tool = form.save()
    assert tool.headers == {"X-Shop": "acme", "Authorization": "Bearer {{ secrets.SHOP_KEY }}"}
    assert tool.secrets == ["SHOP_KEY"]
    assert tool.parameters == {
        "type": "object",
        "properties": {"order_id": {"type": "string", "description": "The number"}},
        "required": ["order_id"],
    }
    assert json.loads(tool.body) == {"id": "{{ order_id }}"}
    again = ToolSettingsForm(instance=tool)
    assert again.initial["auth"] == "bearer" and again.initial["auth_secret"] == "SHOP_KEY"
    assert again.initial["header_rows"] == [{"name": "X-Shop", "value": "acme"}]
    assert again.initial["parameter_rows"][0]["required"] == "yes"


def test_an_edited_json_box_wins_and_a_bad_type_is_explained(shop):
    tool = Tool.objects.create(bot=shop, name="t", url="https://api.shop.test/x")
    data = form_data(tool, headers=json.dumps({"X-From": "json"}))
    form = ToolSettingsForm(data, instance=tool)
    assert form.is_valid(), form.errors
    assert form.save().headers == {"X-From": "json"}
    bad = form_data(
        tool, **table("parameter_rows", [{"name": "n", "type": "colour", "required": "", "description": ""}])
    )
    form = ToolSettingsForm(bad, instance=tool)
    assert not form.is_valid() and "string, integer, number or boolean" in str(form.errors)
    assert Tool.objects.get(pk=tool.pk).parameters == {}


def test_test_this_tool_shows_the_answer_and_what_the_bot_gets(shop, tool_server):  # noqa: F811
    tool = Tool.objects.create(
        bot=shop,
        name="order_status",
        url=tool_server.server.base_url + "/orders/{{ order_id }}",
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
        response_field="status",
    )
    client = Client()
    client.force_login(make_user(shop.workspace, Membership.Role.BUILDER, "tool-bea"))
    url = f"/admin/bots/bot/tool-test/{tool.pk}/"
    result = client.post(url, {"order_id": "1001"}, content_type="application/json").json()
    assert result["ok"] and result["bot_gets"] == "shipped"
    assert json.loads(result["response"]) == {"order_id": "1001", "status": "shipped", "eta": "arrives tomorrow"}
    missing = client.post(url, {}, content_type="application/json").json()
    assert not missing["ok"] and "order_id" in missing["bot_gets"]
    assert client.post(url, "[1]", content_type="application/json").status_code == 400
    outsider = Client()
    outsider.force_login(make_user(Workspace.objects.create(name="O", slug="o"), Membership.Role.OWNER, "tool-otto"))
    assert outsider.post(url, {}, content_type="application/json").status_code == 404
