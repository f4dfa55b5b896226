"""The chat and conversations API over HTTP against the real ASGI server: JSON and SSE."""

from __future__ import annotations

import json

import httpx
import pytest
from httpx_sse import connect_sse

from bots.services import create_api_key
from channels_app import protocol
from conversations.models import Message
from tests.chat.conftest import make_bot

pytestmark = pytest.mark.django_db(transaction=True)


def start(client: httpx.Client, bot, **body) -> dict:
    response = client.post("/api/v1/chat/conversations", json=body, headers={"X-Bot-Key": bot.public_key})
    assert response.status_code == 201, response.text
    return response.json()


def as_user(bot, conversation: dict) -> dict:
    return {"X-Bot-Key": bot.public_key, "X-Conversation-Token": conversation["token"]}


def assert_error(response: httpx.Response, status: int, code: str):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def test_widget_config_is_public_and_allows_the_bots_origins(asgi_server, bot):
    shop = make_bot("shop", name="Shop Bot", origins=["https://shop.example.com"])
    with httpx.Client(base_url=asgi_server) as client:
        config = client.get(f"/api/v1/chat/widget/{bot.public_key}")
        allowed = client.get(f"/api/v1/chat/widget/{shop.public_key}", headers={"Origin": "https://shop.example.com"})
        foreign = client.get(f"/api/v1/chat/widget/{shop.public_key}", headers={"Origin": "https://evil.example"})
        assert_error(client.get("/api/v1/chat/widget/pk_nope"), 404, "not_found")
    body = config.json()
    assert body.pop("strings")["close_chat"] == "Close chat"  # the widget's own words, in the bot's language
    assert body == {
        "name": "Help Bot",
        "title": "Help Bot help",
        "primary_color": "#0f766e",
        "text_color": "#ffffff",
        "avatar_url": "",
        "launcher_position": "right",
        "greeting": "Hello from Help Bot!",
        "language": "en",
    }
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "access-control-allow-origin" not in foreign.headers


def test_a_reply_as_json_and_as_server_sent_events(asgi_server, bot, fake_openai):
    fake_openai.token_interval = 0.01
    with httpx.Client(base_url=asgi_server, timeout=20) as client:
        conversation = start(client, bot)
        url = f"/api/v1/chat/conversations/{conversation['id']}/messages"
        reply = client.post(url, json={"text": "Do you ship to Canada?"}, headers=as_user(bot, conversation))
        assert reply.status_code == 200, reply.text
        assert reply.json()["text"] == "You asked: Do you ship to Canada?"
        assert [e["type"] for e in reply.json()["events"]] == ["message"]

        with connect_sse(
            client, "POST", url + "/stream", json={"text": "And to Mexico?"}, headers=as_user(bot, conversation)
        ) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            frames = [json.loads(event.data) for event in source.iter_sse()]
        transcript = client.get(f"/api/v1/conversations/{conversation['id']}", headers=as_user(bot, conversation))

    kinds = [f["type"] for f in frames]
    assert kinds[0] == "text_delta" and kinds.count("text_delta") > 1
    assert kinds[-2:] == ["message", "done"]
    final = frames[-2]
    assert "".join(f["text"] for f in frames if f["type"] == "text_delta").strip() == final["text"]
    assert final["text"] == "You asked: And to Mexico?"
    assert transcript.status_code == 200
    said = [(m["role"], m["text"]) for m in transcript.json()["messages"]]
    assert ("user", "Do you ship to Canada?") in said and ("bot", "You asked: And to Mexico?") in said
    assert frames[-1]["last_message_id"] == transcript.json()["messages"][-1]["id"]


def test_wrong_keys_and_missing_tokens_are_refused(asgi_server, bot):
    with httpx.Client(base_url=asgi_server) as client:
        conversation = start(client, bot)
        path = f"/api/v1/conversations/{conversation['id']}"
        assert_error(client.get(path, headers={"X-Bot-Key": "pk_wrong"}), 401, "unauthorized")
        assert_error(client.get(path, headers={"Authorization": "Bearer sb_wrong"}), 401, "unauthorized")
        assert_error(client.get(path, headers={"X-Bot-Key": bot.public_key}), 404, "not_found")
        listing = client.get("/api/v1/conversations", params={"bot_id": bot.id}, headers={"X-Bot-Key": bot.public_key})
        assert_error(listing, 403, "forbidden")


def test_another_workspaces_conversation_is_not_found_and_untouched(asgi_server, bot, api_key):
    intruder = make_bot("globex", name="Globex Bot")
    _, intruder_key = create_api_key(
        workspace=intruder.workspace, name="globex", scopes=["conversations:read", "conversations:write"]
    )
    with httpx.Client(base_url=asgi_server) as client:
        conversation = start(client, bot)
        theirs = {"Authorization": f"Bearer {intruder_key}"}
        ours = {"Authorization": f"Bearer {api_key}"}
        path = f"/api/v1/conversations/{conversation['id']}"
        assert_error(client.get(path, headers=theirs), 404, "not_found")
        sent = client.post(
            f"/api/v1/chat/conversations/{conversation['id']}/messages", json={"text": "hi"}, headers=theirs
        )
        assert_error(sent, 404, "not_found")
        assert_error(
            client.post("/api/v1/chat/conversations", json={"bot_id": bot.id}, headers=theirs), 404, "not_found"
        )
        assert client.get(path, headers=ours).status_code == 200
        listed = client.get("/api/v1/conversations", params={"bot_id": bot.id}, headers=ours).json()
        assert [c["id"] for c in listed["items"]] == [conversation["id"]]
        assert client.get("/api/v1/conversations", params={"bot_id": bot.id}, headers=theirs).json()["items"] == []
    assert not Message.objects.filter(conversation_id=conversation["id"], role="user").exists()


def test_an_oversize_message_is_refused_and_not_stored(asgi_server, bot):
    with httpx.Client(base_url=asgi_server) as client:
        conversation = start(client, bot)
        response = client.post(
            f"/api/v1/chat/conversations/{conversation['id']}/messages",
            json={"text": "a" * (protocol.MAX_TEXT_CHARS + 1)},
            headers=as_user(bot, conversation),
        )
    assert_error(response, 413, "message_too_long")
    assert response.json()["error"]["message"] == protocol.ERRORS["message_too_long"]
    assert not Message.objects.filter(conversation_id=conversation["id"]).exists()


def test_too_many_messages_from_one_address_are_rate_limited(strict_server, bot):
    # strict_server allows 5 messages a minute per IP; the IP comes from X-Forwarded-For.
    with httpx.Client(base_url=strict_server, timeout=20) as client:
        conversation = start(client, bot)
        headers = as_user(bot, conversation) | {"X-Forwarded-For": "10.8.0.1"}
        url = f"/api/v1/chat/conversations/{conversation['id']}/messages"
        codes = [client.post(url, json={"text": f"question {i}"}, headers=headers).status_code for i in range(5)]
        limited = client.post(url, json={"text": "one more"}, headers=headers)
        elsewhere = client.post(
            url, json={"text": "from elsewhere"}, headers=as_user(bot, conversation) | {"X-Forwarded-For": "10.8.0.2"}
        )
    assert codes == [200] * 5
    assert_error(limited, 429, "rate_limited")
    assert elsewhere.status_code == 200
    texts = list(Message.objects.filter(conversation_id=conversation["id"], role="user").values_list("text", flat=True))
    assert "one more" not in texts and "from elsewhere" in texts


def test_the_openapi_schema_documents_the_stream_and_the_error_shape(asgi_server):
    schema = httpx.get(asgi_server + "/api/v1/openapi.json").json()
    stream = schema["paths"]["/api/v1/chat/conversations/{conversation_id}/messages/stream"]["post"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert stream["responses"]["429"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    create = schema["paths"]["/api/v1/chat/conversations"]["post"]
    assert "201" in create["responses"]
