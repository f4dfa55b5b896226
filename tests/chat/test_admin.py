"""Conversations in the admin: a per-bot searchable list and the transcript with each turn's
trace, only ever for the person's own workspaces."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from bots.models import Bot, Membership, Workspace
from conversations.services import conversation_start, record_turn


def person(username: str, workspace: Workspace, role: str) -> Client:
    user = get_user_model().objects.create_user(username, password="pw-123456789", is_staff=True)
    Membership.objects.create(user=user, workspace=workspace, role=role)
    client = Client()
    client.force_login(user)
    return client


def conversation_with_a_turn(bot: Bot, *, contact: str, said: str, handoff: bool = False):
    conversation = conversation_start(bot=bot, channel="web", contact_id=contact)
    record_turn(
        conversation_id=conversation.id,
        turn=1,
        user_text=said,
        bot_messages=[{"text": "Happy to help with that.", "buttons": [{"title": "Yes", "payload": "yes"}]}],
        trace={"path": ["main/answer"], "intent": None},
        timings={"engine_ms": 3.2, "total_ms": 12.5},
        llm_calls=[{"model": "gpt-4o-mini", "input_tokens": 40, "output_tokens": 9, "ttft_ms": 180, "latency_ms": 240}],
        handoff={"reason": "Asks for a person", "queue": "support", "summary": "Wants a refund", "slots": {}}
        if handoff
        else None,
        status="handed_off" if handoff else "active",
        previous_status="active",
        counted=True,
    )
    return conversation


@pytest.fixture
def two_workspaces(db):
    acme = Workspace.objects.create(name="Acme", slug="acme")
    globex = Workspace.objects.create(name="Globex", slug="globex")
    acme_bot = Bot.objects.create(workspace=acme, name="Acme Bot", slug="acme-bot")
    globex_bot = Bot.objects.create(workspace=globex, name="Globex Bot", slug="globex-bot")
    ours = conversation_with_a_turn(acme_bot, contact="crm-1", said="Where is my <script>alert(1)</script> parcel?")
    refund = conversation_with_a_turn(acme_bot, contact="crm-2", said="I want a refund", handoff=True)
    theirs = conversation_with_a_turn(globex_bot, contact="globex-1", said="Globex secret plans")
    return {"acme": acme, "globex": globex, "ours": ours, "refund": refund, "theirs": theirs}


def changelist(client: Client, **params):
    return client.get(reverse("admin:conversations_conversation_changelist"), params)


def test_the_list_shows_only_the_workspaces_conversations_and_searches_messages(two_workspaces):
    viewer = person("vera", two_workspaces["acme"], Membership.Role.VIEWER)
    page = changelist(viewer)
    assert page.status_code == 200
    shown = {c.id for c in page.context["cl"].result_list}
    assert shown == {two_workspaces["ours"].id, two_workspaces["refund"].id}
    assert b"Globex" not in page.content
    found = changelist(viewer, q="refund").context["cl"].result_list
    assert [c.id for c in found] == [two_workspaces["refund"].id]
    assert found[0].handed_off and found[0].turn_count == 1
    assert list(changelist(viewer, q="secret plans").context["cl"].result_list) == []


def test_the_transcript_shows_messages_and_the_turn_trace_escaped(two_workspaces):
    agent = person("ana", two_workspaces["acme"], Membership.Role.AGENT)  # agents read transcripts too
    url = reverse("admin:conversations_conversation_change", args=[two_workspaces["ours"].id])
    page = agent.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Where is my &lt;script&gt;alert(1)&lt;/script&gt; parcel?" in html
    assert "<script>alert(1)</script>" not in html
    assert "Happy to help with that." in html and "[Yes]" in html
    assert "Turn 1 trace" in html and "gpt-4o-mini" in html and "40/9" in html and "180 ms" in html
    refund = agent.get(reverse("admin:conversations_conversation_change", args=[two_workspaces["refund"].id]))
    assert "queue “support”" in refund.content.decode() and "Wants a refund" in refund.content.decode()


def test_another_workspaces_transcript_and_outsiders_are_refused(two_workspaces):
    viewer = person("vera", two_workspaces["acme"], Membership.Role.VIEWER)
    theirs = reverse("admin:conversations_conversation_change", args=[two_workspaces["theirs"].id])
    response = viewer.get(theirs)
    assert response.status_code == 302  # the admin's "does not exist" redirect, as for a guessed id
    assert "Globex secret plans" not in viewer.get(theirs, follow=True).content.decode()
    outsider = get_user_model().objects.create_user("olga", password="pw-123456789", is_staff=True)
    client = Client()
    client.force_login(outsider)
    assert changelist(client).status_code == 403
    delete = reverse("admin:conversations_conversation_delete", args=[two_workspaces["ours"].id])
    assert viewer.post(delete, {"post": "yes"}).status_code == 403
