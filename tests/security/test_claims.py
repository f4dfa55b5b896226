"""Item: a phone number (and every channel account) belongs to one workspace across the
installation. A second workspace tries to take a number the first one answers calls on: written
differently, on another kind of channel, and through a YAML import."""

from __future__ import annotations

import pytest

from bots.models import ChannelConnection, Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from tests.security.conftest import MEMORY_BOT, api_client

pytestmark = pytest.mark.django_db(transaction=True)
SMS_CREDENTIALS = {"account_sid": "AC" + "0" * 32, "auth_token": "token-of-the-attacker"}


def workspace_with_bot(slug: str):
    workspace = Workspace.objects.create(slug=slug, name=slug.title())
    bot = import_bot(workspace=workspace, text=MEMORY_BOT.format(slug=f"{slug}-bot"))
    publish_bot(bot=bot, user=None)
    return workspace, bot


def test_a_second_workspace_cannot_claim_a_number_in_any_spelling_or_kind(security_server):
    owner, owners_bot = workspace_with_bot("owner")
    attacker, attackers_bot = workspace_with_bot("attacker")
    with api_client(security_server, owner) as api:
        mine = api.post(
            f"/api/v1/bots/{owners_bot.id}/channels", json={"kind": "phone", "phone_number": "+1 415 555 0100"}
        )
    assert mine.status_code == 201, mine.text
    assert mine.json()["phone_number"] == "+14155550100"

    url = f"/api/v1/bots/{attackers_bot.id}/channels"
    with api_client(security_server, attacker) as api:
        same_kind = api.post(url, json={"kind": "phone", "phone_number": "+1 (415) 555-0100"})
        other_kind = api.post(url, json={"kind": "sms", "phone_number": "+14155550100", "credentials": SMS_CREDENTIALS})
        not_a_number = api.post(url, json={"kind": "phone", "phone_number": "call me"})
        imported = api.post(
            f"/api/v1/workspaces/{attacker.id}/import",
            content=MEMORY_BOT.format(slug="attacker-bot")
            + "channels:\n  - {kind: phone, phone_number: '001 415 555 0100'}\n"
            + "  - {kind: sms, phone_number: '+1-415-555-0100'}\n",
            headers={"Content-Type": "application/x-yaml"},
        )

    assert same_kind.status_code == 422 and "already connected to another bot" in same_kind.json()["error"]["message"]
    assert other_kind.status_code == 422 and "belongs to another workspace" in other_kind.json()["error"]["message"]
    assert not_a_number.status_code == 422 and "international form" in not_a_number.json()["error"]["message"]
    assert imported.status_code == 422, imported.text
    problems = {p["path"]: p["code"] for p in imported.json()["error"]["details"]}
    assert problems == {"channels[0].phone_number": "channel.number", "channels[1].phone_number": "channel.claimed"}
    assert list(ChannelConnection.objects.exclude(kind="web").values_list("bot_id", "phone_number")) == [
        (owners_bot.id, "+14155550100")
    ]


def test_the_same_workspace_may_take_calls_and_texts_on_one_number(security_server):
    owner, bot = workspace_with_bot("owner")
    with api_client(security_server, owner) as api:
        phone = api.post(f"/api/v1/bots/{bot.id}/channels", json={"kind": "phone", "phone_number": "+14155550100"})
        sms = api.post(
            f"/api/v1/bots/{bot.id}/channels",
            json={"kind": "sms", "phone_number": "+1 415-555-0100", "credentials": SMS_CREDENTIALS},
        )
    assert phone.status_code == 201 and sms.status_code == 201, sms.text
