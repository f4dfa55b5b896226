"""The studio's pages and JSON endpoints: access, the builder's bot data, live validation,
saving through the management API with optimistic concurrency, and saving test cases."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bots.models import Flow, Workspace
from studio.models import BotTestCase
from tests.studio.factories import EMAIL_FLOW, make_bot, make_builder

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot():
    return make_bot(graph=EMAIL_FLOW)


def builder_client(bot, username="builder"):
    """A builder's browser session, with the CSRF cookie the builder page sets."""
    c = Client(enforce_csrf_checks=True)
    c.force_login(make_builder(bot.workspace, username))
    assert c.get(f"/studio/bots/{bot.id}/builder/").status_code == 200
    return c


@pytest.fixture
def client(bot):
    return builder_client(bot)


def post(client, url, data, method="post"):
    token = client.cookies["csrftoken"].value
    return getattr(client, method)(url, json.dumps(data), content_type="application/json", HTTP_X_CSRFTOKEN=token)


def test_builder_page_embeds_the_bots_parts_for_the_dropdowns(client, bot):
    res = client.get(f"/studio/bots/{bot.id}/builder/")
    assert res.status_code == 200
    assert b"switchboard/builder/builder.js" in res.content
    html = res.content.decode()
    data = json.loads(html.split('id="sb-builder-data" type="application/json">')[1].split("</script>")[0])
    assert data["bot"]["prompts"] == ["support"]
    assert data["bot"]["intents"] == ["cancel"]
    assert data["bot"]["tools"][0]["name"] == "order_status"
    assert [f["name"] for f in data["flows"]] == ["main"]
    assert data["urls"]["flow"] == "/api/v1/flows/{flow}"


def test_another_workspace_cannot_open_or_use_the_studio_of_a_bot(bot):
    other = Workspace.objects.create(name="Other", slug="other")
    c = Client()
    c.force_login(make_builder(other, "intruder"))
    assert c.get(f"/studio/bots/{bot.id}/builder/").status_code == 404
    res = c.post(f"/studio/bots/{bot.id}/test-cases", "{}", content_type="application/json")
    assert res.status_code == 404
    assert not BotTestCase.objects.exists()


def test_non_staff_members_and_anonymous_visitors_are_kept_out(bot):
    c = Client()
    assert c.get(f"/studio/bots/{bot.id}/builder/").status_code == 302  # to the login page
    c.force_login(make_builder(bot.workspace, "member", staff=False))
    assert c.get(f"/studio/bots/{bot.id}/builder/").status_code == 403


def test_live_validation_points_at_the_unconnected_node_and_clears_when_connected(client, bot):
    flow = bot.flows.get()
    graph = json.loads(json.dumps(EMAIL_FLOW))
    graph["nodes"][2]["conditions"][0]["next"] = ""  # branch not connected to the last message
    res = post(client, f"/studio/bots/{bot.id}/validate", {"flow": flow.id, "graph": graph})
    problems = res.json()["errors"]
    unreachable = [p for p in problems if p["code"] == "node.unreachable"]
    assert [p["node"] for p in unreachable] == ["message_2"]
    assert "no path leads to step “message_2”" in unreachable[0]["message"]

    res = post(client, f"/studio/bots/{bot.id}/validate", {"flow": flow.id, "graph": EMAIL_FLOW})
    assert res.json()["errors"] == []
    assert Flow.objects.get(pk=flow.id).graph == flow.graph  # validating saves nothing


def test_a_half_filled_node_is_reported_on_that_node(client, bot):
    flow = bot.flows.get()
    graph = {"entry": "ask_1", "nodes": [{"id": "ask_1", "kind": "ask", "slot": "", "prompt": "Email?"}]}
    problems = post(client, f"/studio/bots/{bot.id}/validate", {"flow": flow.id, "graph": graph}).json()["errors"]
    assert [(p["node"], p["field"]) for p in problems] == [("ask_1", "slot")]
    assert problems[0]["message"] == (
        "In flow “main”, step “ask_1” (slot): use lowercase letters, digits and _ only, starting with a letter."
    )


def test_validation_of_an_unknown_flow_or_bad_body_is_refused(client, bot):
    assert post(client, f"/studio/bots/{bot.id}/validate", {"flow": 999999, "graph": {}}).status_code == 404
    assert post(client, f"/studio/bots/{bot.id}/validate", {"graph": {}}).status_code == 400


def test_two_builders_saving_the_same_flow_do_not_overwrite_each_other(client, bot):
    """What the builder's Save does: PUT the graph with the revision it loaded."""
    flow = bot.flows.get()
    loaded = client.get(f"/api/v1/flows/{flow.id}").json()
    mine = json.loads(json.dumps(EMAIL_FLOW))
    mine["nodes"][0]["text"] = "Mine"
    theirs = json.loads(json.dumps(EMAIL_FLOW))
    theirs["nodes"][0]["text"] = "Theirs"

    other = builder_client(bot, "colleague")
    first = post(other, f"/api/v1/flows/{flow.id}", {"graph": theirs, "revision": loaded["revision"]}, "put")
    assert first.status_code == 200

    second = post(client, f"/api/v1/flows/{flow.id}", {"graph": mine, "revision": loaded["revision"]}, "put")
    assert second.status_code == 409
    assert second.json()["error"]["details"]["current_revision"] == first.json()["revision"]
    assert Flow.objects.get(pk=flow.id).graph["nodes"][0]["text"] == "Theirs"


def test_saving_a_test_case_checks_its_steps(client, bot):
    url = f"/studio/bots/{bot.id}/test-cases"
    bad = post(client, url, {"name": "Signup", "steps": [{"user": "", "expect": {}}]})
    assert bad.status_code == 422
    assert "steps" in bad.json()["detail"] or "user" in bad.json()["detail"]
    assert post(client, url, {"name": "", "steps": [{"user": "hi"}]}).status_code == 422
    assert not BotTestCase.objects.exists()

    steps = [{"user": "hi", "expect": {"node": "ask_1", "contains": ["email"]}}]
    ok = post(client, url, {"name": "Signup", "steps": steps})
    assert ok.status_code == 201
    again = post(client, url, {"name": "Signup", "steps": steps})
    assert again.status_code == 422 and "already has a test case" in again.json()["detail"]
    assert client.get(url).json()["cases"] == [
        {"id": ok.json()["id"], "name": "Signup", "steps": 1, "last_passed": None}
    ]
