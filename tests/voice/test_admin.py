"""The calls admin: per-turn latency per call, p50/p95 per bot, only the user's workspaces."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from bots.models import Membership
from tests.voice.conftest import BOT_NUMBER, BOT_YAML, publish
from voice import services

pytestmark = pytest.mark.django_db


def make_call(bot_number: str, sid: str, first_audio: list[float]):
    call, _ = services.call_answer(call_sid=sid, caller="+15550001234", dialled=bot_number)
    for i, total in enumerate(first_audio, 1):
        figures = {"stt_ms": 250.0, "tts_first_byte_ms": 150.0, "first_audio_ms": total}
        services.call_turn_record(
            call_id=call.id, conversation_id=call.conversation_id, index=i, since=timezone.now(), figures=figures
        )
    return call


def test_latency_per_call_and_per_bot_for_members_only(client):
    ours = publish(BOT_YAML.format(sensitivity="medium", number=BOT_NUMBER))
    theirs = publish(BOT_YAML.format(sensitivity="medium", number="+14155550111").replace("Acme Phone", "Rival Line"))
    call = make_call(BOT_NUMBER, "CA" + "1" * 32, [410.0, 420.0, 430.0, 900.0])
    make_call("+14155550111", "CA" + "2" * 32, [999.0])
    user = User.objects.create_user("builder", password="pw-12345678", is_staff=True)
    Membership.objects.create(user=user, workspace=ours.workspace, role=Membership.Role.BUILDER)
    client.force_login(user)

    page = client.get("/admin/voice/call/").content.decode()
    assert "Acme Phone" in page and "Rival Line" not in page
    assert "Reply latency per bot" in page
    assert ">425<" in page  # p50 of end of speech → first audio: 410, 420, 430, 900
    detail = client.get(f"/admin/voice/call/{call.id}/change/").content.decode()
    assert "Latency (ms)" in detail and "Platform share p95" in detail
    other = make_call("+14155550111", "CA" + "3" * 32, [1.0])
    assert client.get(f"/admin/voice/call/{other.id}/change/").status_code in (302, 403, 404)
    assert theirs.workspace_id != ours.workspace_id
