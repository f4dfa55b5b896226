"""The data lifecycle through the public API and the real worker: erase and export a contact,
retention, the deep (named-entity) pass, and the audit log of who changed what."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import redis
from django.utils import timezone

from bots.services import create_api_key
from conversations.models import ContactMemory, Conversation, Message, TurnTrace
from dialogue import state as session
from privacy import tasks
from privacy.models import AuditEntry
from tests.chat.conftest import make_bot
from tests.dialogue.conftest import Talk, demo_snapshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key(workspace):
    _, raw = create_api_key(
        workspace=workspace,
        name="privacy",
        scopes=["conversations:read", "conversations:write", "bots:read", "bots:write", "bots:publish"],
    )
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def api(asgi_server):
    with httpx.Client(base_url=asgi_server + "/api/v1", timeout=20) as client:
        yield client


def chat(acme_bot, tool_server, contact: str, *lines: str) -> Talk:
    talk = Talk(acme_bot, demo_snapshot(tool_server), contact_id=contact)
    for line in lines:
        talk.say(line)
    return talk


def test_a_contact_is_erased_everywhere_and_no_one_else(api, key, acme_bot, tool_server, settings, fake_openai):
    gone = chat(
        acme_bot, tool_server, "visitor-7", "where is my order?", "1001", "please cancel my order", "rosa@x.com"
    )
    kept = chat(acme_bot, tool_server, "visitor-8", "hello")
    assert ContactMemory.objects.filter(contact_id="visitor-7").exists()  # the order number is memorable
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.exists(session.key(gone.conversation.pk))

    refused = api.post("/privacy/contacts/erase", json={"contact_id": "  "}, headers=key)
    assert refused.status_code == 422 and "contact" in refused.json()["error"]["message"]
    assert Conversation.objects.filter(contact_id="visitor-7").exists()  # bad input changed nothing

    erased = api.post("/privacy/contacts/erase", json={"contact_id": "visitor-7"}, headers=key)
    assert erased.status_code == 200, erased.text
    assert erased.json()["conversations"] == 1 and erased.json()["messages"] >= 6 and erased.json()["memory"] == 1
    assert not Conversation.objects.filter(contact_id="visitor-7").exists()
    assert not Message.objects.filter(conversation_id=gone.conversation.pk).exists()
    assert not TurnTrace.objects.filter(conversation_id=gone.conversation.pk).exists()
    assert not ContactMemory.objects.filter(contact_id="visitor-7").exists()
    assert not client.exists(session.key(gone.conversation.pk))
    assert Message.objects.filter(conversation_id=kept.conversation.pk).exists()
    entry = AuditEntry.objects.get(action="erased")
    assert entry.actor.startswith("API key ") and "visitor-7" not in str(entry.__dict__)


def test_a_contacts_export_holds_their_conversations_redacted(api, key, acme_bot, tool_server, fake_openai):
    chat(acme_bot, tool_server, "visitor-9", "my card is 4111 1111 1111 1111", "Please ask Olusegun Adeyemi to call")
    exported = api.post("/privacy/contacts/export", json={"contact_id": "visitor-9"}, headers=key)
    assert exported.status_code == 200, exported.text
    texts = [m["text"] for c in exported.json()["conversations"] for m in c["messages"]]
    assert "my card is [CARD]" in texts and "Please ask [NAME] to call" in texts
    # The card as typed (its digits alone could turn up inside a timestamp).
    assert "4111 1111" not in exported.text and "Olusegun" not in exported.text
    assert AuditEntry.objects.filter(action="exported").count() == 1


def test_the_deep_pass_redacts_stored_names_within_a_worker_run(acme_bot, tool_server, celery_worker, fake_openai):
    talk = chat(acme_bot, tool_server, "", "I spoke to Hiroshi Watanabe at the desk and he was rude")
    said = Message.objects.get(conversation=talk.conversation, role="user")
    assert "Hiroshi" in said.text or said.text.count("[NAME]") == 1  # the fast pass may or may not see it
    tasks.deep_redact.delay().get(timeout=60)
    said.refresh_from_db()
    assert said.text == "I spoke to [NAME] at the desk and he was rude"


def test_conversations_past_retention_are_deleted_by_the_worker(
    api, key, acme_bot, tool_server, celery_worker, fake_openai
):
    assert api.put("/privacy/retention", json={"days": 0}, headers=key).status_code == 422
    assert api.put("/privacy/retention", json={"days": 30}, headers=key).json() == {"days": 30}
    old = chat(acme_bot, tool_server, "old-visitor", "hello")
    recent = chat(acme_bot, tool_server, "new-visitor", "hello")
    # Time passes: the old conversation's last word was 31 days ago.
    long_ago = timezone.now() - timedelta(days=31)
    Conversation.objects.filter(pk=old.conversation.pk).update(started_at=long_ago)
    Message.objects.filter(conversation=old.conversation).update(created_at=long_ago)
    assert tasks.purge_expired.delay().get(timeout=60) == 1
    assert not Conversation.objects.filter(pk=old.conversation.pk).exists()
    assert Conversation.objects.filter(pk=recent.conversation.pk).exists()
    assert AuditEntry.objects.filter(action="purged").get().detail["conversations"] == 1


def test_the_audit_log_says_who_changed_published_and_rolled_back(api, fake_openai):
    made = make_bot("cirrus", name="Audit Bot")  # imported and published once, by the platform
    _, raw = create_api_key(
        workspace=made.workspace, name="ci", scopes=["bots:read", "bots:write", "bots:publish", "conversations:read"]
    )
    key, bot = {"Authorization": f"Bearer {raw}"}, made.pk
    assert api.patch(f"/bots/{bot}", json={"greeting": "Hello!"}, headers=key).status_code == 200
    first = api.post(f"/bots/{bot}/publish", json={"note": "first"}, headers=key)
    assert first.status_code == 201, first.text
    api.patch(f"/bots/{bot}", json={"greeting": "Hi there!"}, headers=key)
    api.post(f"/bots/{bot}/publish", json={"note": "second"}, headers=key)
    back = api.post(f"/bots/{bot}/rollback", json={"version_id": first.json()["id"]}, headers=key)
    assert back.status_code == 201, back.text

    log = api.get("/privacy/audit?limit=500", headers=key).json()["items"]
    on_bot = [(e["action"], e["detail"].get("version")) for e in log if e["target_type"] == "bot"]
    assert on_bot[:5] == [("rolled_back", 4), ("changed", None), ("published", 3), ("changed", None), ("published", 2)]
    assert ("deleted", "prompt") in {(e["action"], e["target_type"]) for e in log}  # the rollback replaced parts
    assert all(e["actor"].startswith("API key ") for e in [e for e in log if e["target_type"] == "bot"][:5])
    assert log[-1]["actor"] == "Switchboard"  # the import and first publish, made outside any request
