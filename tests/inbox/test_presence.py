"""Presence follows the inbox page: closing the last inbox tab sets an online agent away (so round
robin stops giving them chats), opening it again brings them back; a status they chose stays."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from inbox.models import AgentStatus
from tests.inbox.conftest import Agent

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def presence_of(user, workspace) -> str:
    return AgentStatus.objects.get(user=user, workspace=workspace).presence


async def until_presence(user, workspace, expected: str) -> None:
    for _ in range(200):
        if await presence_of(user, workspace) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"presence stayed {await presence_of(user, workspace)}, expected {expected}")


async def test_closing_the_last_inbox_tab_sets_an_online_agent_away_and_reopening_brings_them_back(
    asgi_server, bot, ana
):
    async with Agent(asgi_server, ana) as first, Agent(asgi_server, ana) as second:
        await first.connect()
        await second.connect()
        assert (await first.post("presence", workspace_id=bot.workspace_id, presence="online")).status_code == 200
        await second.ws.close()  # one tab closed, the other still open
        await asyncio.sleep(0.3)
        assert await presence_of(ana, bot.workspace) == "online"
        await first.ws.close()
        await until_presence(ana, bot.workspace, "away")
        await first.connect()
        await until_presence(ana, bot.workspace, "online")
        # Closed here, not on leaving the block: the server's answer to the close writes to the
        # database, and it must be done before the test's data is cleared.
        await first.ws.close()
        first.ws = None
        await until_presence(ana, bot.workspace, "away")


async def test_a_status_the_agent_chose_survives_closing_the_page(asgi_server, bot, ana):
    async with Agent(asgi_server, ana) as agent:
        await agent.connect()
        assert (await agent.post("presence", workspace_id=bot.workspace_id, presence="offline")).status_code == 200
        await agent.ws.close()
        await asyncio.sleep(0.3)
        await agent.connect()
        await asyncio.sleep(0.3)
        assert await presence_of(ana, bot.workspace) == "offline"


async def test_tabs_closing_while_a_frame_is_on_its_way_to_them_still_set_the_agent_away(asgi_server, bot, ana):
    # A presence change is sent to every open inbox tab of the workspace; closing the tabs as soon
    # as the change is made makes some of them close while their frame is being sent.
    async with Agent(asgi_server, ana) as agent:
        for _ in range(10):
            tabs = [Agent(asgi_server, ana) for _ in range(8)]
            for tab in tabs:
                await tab.__aenter__()
                await tab.connect()
            assert (await agent.post("presence", workspace_id=bot.workspace_id, presence="online")).status_code == 200
            await asyncio.gather(*(tab.__aexit__() for tab in tabs))
            await until_presence(ana, bot.workspace, "away")
