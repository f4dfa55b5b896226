"""`make run`'s demo bot, its pretend order endpoint, and the API's published documentation."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from bots import selectors
from bots.models import Bot, Workspace

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_publishes_the_demo_bot(django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo", stdout=io.StringIO())
    bot = Bot.objects.get(slug="acme-support")
    assert bot.workspace.tool_allowed_hosts == ["localhost", "127.0.0.1"] and bot.workspace.allow_private_networks
    assert bot.versions.count() == 1
    version, snapshot = selectors.published_snapshot(bot.id)
    assert version.is_current and [f.name for f in snapshot.flows] == ["Main"]
    assert snapshot.knowledge_bases[0]["name"] == "Acme Help Center"
    assert {i.name for i in snapshot.intents} == {"order_status", "cancel_order", "talk_to_human"}
    assert snapshot.escalation_rules[0].trigger == "explicit_request"
    assert Workspace.objects.filter(slug="demo").count() == 1


def test_the_demo_order_endpoint_answers_like_a_shop_api():
    client = Client()
    assert client.get("/demo-api/orders/1001").json()["status"] == "shipped"
    missing = client.get("/demo-api/orders/9999")
    assert missing.status_code == 404 and "Demo orders are 1001 to 1004" in missing.json()["error"]
    assert client.post("/demo-api/orders/1001").status_code == 405


def test_api_docs_list_the_bot_endpoints_with_the_shared_error_shape():
    assert Client().get("/api/docs").headers["Location"] == "/api/v1/docs"
    schema = Client().get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/bots",
        "/api/v1/flows/{flow_id}",
        "/api/v1/bots/{bot_id}/publish",
        "/api/v1/workspaces/{workspace_id}/import",
    ):
        assert path in schema["paths"]
    put = schema["paths"]["/api/v1/flows/{flow_id}"]["put"]["responses"]
    assert put["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "ErrorOut" in schema["components"]["schemas"]
