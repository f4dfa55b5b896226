"""Erase or export a contact from the admin: owners only, a confirmation before erasing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bots.models import Membership
from conversations.models import Conversation
from privacy.models import AuditEntry
from tests.bots.conftest import make_user
from tests.dialogue.conftest import Talk, demo_snapshot

URL = "/admin/privacy/auditentry/contact/"
pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_owner_exports_then_erases_a_contact_after_confirming(acme_bot, tool_server, fake_openai):
    Talk(acme_bot, demo_snapshot(tool_server), contact_id="caller-1").say("my card is 4111 1111 1111 1111")
    owner = signed_in(make_user(acme_bot.workspace, Membership.Role.OWNER, "olga"))
    form = {"workspace": acme_bot.workspace_id, "contact_id": "caller-1"}

    page = owner.get(URL)
    assert page.status_code == 200 and b"Erase everywhere" in page.content

    exported = owner.post(URL, {**form, "export": "1"})
    assert exported["Content-Disposition"].startswith("attachment")
    assert "my card is [CARD]" in json.dumps(json.loads(exported.content))

    unconfirmed = owner.post(URL, {**form, "erase": "1"})
    assert b"Tick the box to confirm" in unconfirmed.content
    assert Conversation.objects.filter(contact_id="caller-1").exists()

    done = owner.post(URL, {**form, "erase": "1", "confirm": "on"}, follow=True)
    assert b"Erased: 1 conversations" in done.content
    assert not Conversation.objects.filter(contact_id="caller-1").exists()
    assert list(AuditEntry.objects.filter(target_type="contact").values_list("action", "actor")) == [
        ("erased", "olga"),
        ("exported", "olga"),
    ]


def test_a_builder_cannot_erase(acme_bot):
    builder = signed_in(make_user(acme_bot.workspace, Membership.Role.BUILDER, "bert"))
    assert builder.get(URL).status_code == 403
