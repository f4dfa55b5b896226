"""Presence follows the inbox page: closing the last inbox tab sets an online agent away (so round
robin stops giving them chats), opening it again brings them back; a status they chose stays.
The agents a team sees are its own: the agents page offers and accepts only the workspace's people."""

from __future__ import annotations

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from bots.models import Membership
from inbox.models import AgentStatus
from tests.inbox.conftest import Agent, make_agent, make_bot

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


def admin_of(*workspaces) -> Client:
    """A team lead who owns `workspaces`, logged in to the admin."""
    lead = get_user_model().objects.create_user("lea", "lea@example.com", "pw-for-tests-1", is_staff=True)
    for workspace in workspaces:
        Membership.objects.create(user=lead, workspace=workspace, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(lead)
    return client


def people_offered(client: Client) -> list[str]:
    form = client.get("/admin/inbox/agentstatus/add/").content.decode()
    choices = re.search(r'<select name="user".*?</select>', form, re.S).group(0)
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', choices)


def test_the_agents_page_offers_and_accepts_only_the_workspaces_people(bot, ana):
    other = make_bot("globex", "Other Bot").workspace
    otto = make_agent(other, "otto")
    client = admin_of(bot.workspace)
    assert people_offered(client) == ["ana", "lea"]

    added = client.post(
        "/admin/inbox/agentstatus/add/",
        {"user": otto.pk, "workspace": bot.workspace_id, "presence": "online", "max_chats": 3},
    )
    assert added.status_code == 200 and "Select a valid choice" in added.content.decode()
    assert not AgentStatus.objects.filter(user=otto).exists()


def test_someone_outside_the_workspace_cannot_be_made_its_agent(bot, ana):
    other = make_bot("globex", "Other Bot").workspace
    otto = make_agent(other, "otto")
    vic = make_agent(bot.workspace, "vic", role=Membership.Role.VIEWER)
    client = admin_of(bot.workspace, other)  # owns both: both teams' people are offered
    for person in (otto, vic):
        added = client.post(
            "/admin/inbox/agentstatus/add/",
            {"user": person.pk, "workspace": bot.workspace_id, "presence": "online", "max_chats": 3},
        )
        assert added.status_code == 200
        assert "does not work this workspace&#x27;s inbox. Add them to the workspace" in added.content.decode()
    assert not AgentStatus.objects.filter(workspace=bot.workspace).exists()
    assert (
        client.post(
            "/admin/inbox/agentstatus/add/",
            {"user": ana.pk, "workspace": bot.workspace_id, "presence": "online", "max_chats": 3},
        ).status_code
        == 302
    )


async def test_the_inbox_lists_only_the_workspaces_own_agents(asgi_server, bot, ana):
    other = await sync_to_async(make_bot)("globex", "Other Bot")
    otto = await sync_to_async(make_agent)(other.workspace, "otto")
    # A row from before agents were checked against the workspace's people.
    await AgentStatus.objects.acreate(user=otto, workspace=bot.workspace, presence="online")
    await AgentStatus.objects.acreate(user=ana, workspace=bot.workspace, presence="online")
    async with Agent(asgi_server, ana) as agent:
        snapshot = await agent.connect()
        # Closed and waited for here: the server's answer to the close sets ana away in the
        # database, and it must be done before the test's data is cleared.
        await agent.ws.close()
        agent.ws = None
        await until_presence(ana, bot.workspace, "away")
    assert [a["user_id"] for a in snapshot["agents"]] == [ana.pk]
