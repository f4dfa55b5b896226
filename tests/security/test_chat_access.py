"""Item: a switched-off website chat refuses every way in, resume tokens expire, new
conversations are limited with 429 + Retry-After, and /readyz tells the public only ready or not.
All against the running server, as a script hammering it would."""

from __future__ import annotations

import math
import time

import httpx
import pytest
from asgiref.sync import async_to_sync
from httpx_sse import connect_sse

from conversations.models import Conversation
from tests.security.conftest import HEALTH_TOKEN, api_client, new_address, signed, widget_socket

pytestmark = pytest.mark.django_db(transaction=True)
CREATE = "/api/v1/chat/conversations"


def start(client: httpx.Client, bot, headers: dict | None = None, **body) -> httpx.Response:
    return client.post(CREATE, json=body, headers={"X-Bot-Key": bot.public_key, **(headers or new_address())})


def test_a_switched_off_web_channel_refuses_the_widget_the_api_and_the_stream(security_server, memory_bot):
    with httpx.Client(base_url=security_server, timeout=20) as client:
        before = start(client, memory_bot).json()
        with api_client(security_server, memory_bot.workspace) as api:
            off = api.put(f"/api/v1/channels/{memory_bot.web_channel_id}", json={"kind": "web", "is_active": False})
        assert off.status_code == 200, off.text

        refused = start(client, memory_bot)
        as_before = {"X-Bot-Key": memory_bot.public_key, "X-Conversation-Token": before["token"], **new_address()}
        url = f"/api/v1/chat/conversations/{before['id']}/messages"
        message = client.post(url, json={"text": "hello?"}, headers=as_before)
        with connect_sse(client, "POST", url + "/stream", json={"text": "hello?"}, headers=as_before) as stream:
            stream_status, stream_body = stream.response.status_code, stream.response.read()

    for response in (refused, message):
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "channel_off"
        assert "Switch its website chat channel on" in response.json()["error"]["message"]
    assert stream_status == 409 and b"channel_off" in stream_body

    async def widget():
        async with widget_socket(security_server, memory_bot.public_key) as w:
            return await w.until("error")

    assert async_to_sync(widget)()[-1]["code"] == "channel_off"
    assert Conversation.objects.filter(bot=memory_bot).count() == 1  # only the one from before


def test_resume_tokens_expire(security_server, memory_bot):
    with httpx.Client(base_url=security_server, timeout=20) as client:
        conversation = start(client, memory_bot).json()
        headers = {"X-Bot-Key": memory_bot.public_key, "X-Conversation-Token": conversation["token"]}
        url = f"/api/v1/conversations/{conversation['id']}"
        fresh = client.get(url, headers=headers)
        time.sleep(4)  # the server's CHAT_TOKEN_TTL_S is 3
        stale = client.get(url, headers=headers)
    assert fresh.status_code == 200, fresh.text
    assert stale.status_code == 404 and stale.json()["error"]["code"] == "not_found"


def test_new_conversations_are_limited_per_address_with_retry_after(security_server, memory_bot):
    address = new_address()
    with httpx.Client(base_url=security_server, timeout=20) as client:
        began = time.monotonic()
        answers = [start(client, memory_bot, address) for _ in range(6)]
        burst_s = time.monotonic() - began
        elsewhere = start(client, memory_bot)
    assert [a.status_code for a in answers] == [201] * 4 + [429] * 2
    limited = answers[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    # A sliding minute: one more start fits once the third of these six leaves it, which is a
    # minute after it was made, minus the time the later ones took (rounded up to a second).
    assert 60 - math.ceil(burst_s) <= int(limited.headers["Retry-After"]) <= 60
    assert elsewhere.status_code == 201
    assert Conversation.objects.filter(bot=memory_bot).count() == 5

    async def widget():
        async with widget_socket(security_server, memory_bot.public_key, address) as w:
            await w.send(type="start")
            return await w.until("ready")

    refused = async_to_sync(widget)()[-1]
    assert refused["code"] == "too_many_conversations" and refused["retry_after"] >= 1


def test_new_conversations_are_limited_per_contact_from_any_address(security_server, memory_bot):
    with httpx.Client(base_url=security_server, timeout=20) as client:
        answers = [start(client, memory_bot, **signed("carol")) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert "Retry-After" in answers[-1].headers


def test_readyz_is_bare_for_the_public_and_detailed_with_the_token(security_server):
    with httpx.Client(base_url=security_server, timeout=20) as client:
        public = client.get("/readyz")
        forged = client.get("/readyz", headers={"Authorization": "Bearer guess"})
        monitoring = client.get("/readyz", headers={"Authorization": f"Bearer {HEALTH_TOKEN}"})
    assert public.status_code in (200, 503) and public.json() in ({"status": "ready"}, {"status": "unavailable"})
    assert forged.json() == public.json()
    assert set(monitoring.json()["checks"]) == {"database", "pgvector", "redis", "celery"}
    assert b"vector" not in public.content
