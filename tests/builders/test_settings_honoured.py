"""Every setting the admin shows changes what the bot does: how it understands intents (published
with the version), which prompt answers on which kind of channel, and what each escalation
action does — hand to a queue, transfer a call, collect contact details, or only say something."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.test import Client

from bots.models import Bot, BotVersion, Membership, Workspace
from bots.services import publish_bot
from bots.yaml_io import import_bot
from conversations.models import Conversation
from inbox.models import Ticket
from tests.bots.conftest import make_user
from tests.dialogue.bots import Chat, bot
from tests.fakes.openai_server import Reply
from tests.inbox.conftest import customer
from tests.inbox.test_handoffs import db, handoff_of

RULES_BOT = """
name: Rules bot
prompts:
  - {name: answer, system: You answer in writing., mode: chat}
  - {name: spoken, system: You answer out loud in one short sentence., mode: voice}
voice: {transfer_number: "+14155550100"}
escalation_rules:
  - {name: hours, trigger: keyword, keywords: [hours], action: message, message: "We are open 9 to 5."}
  - {name: call, trigger: keyword, keywords: [manager], action: transfer, queue: managers, transfer_to: "+14155550199"}
  - {name: person, trigger: explicit_request, action: handoff, queue: support, transfer_to: "+14155550111"}
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {id: answer, kind: llm, prompt: answer}
"""


def events_of(events, kind):
    return [e for e in events if e.type == kind]


async def test_a_message_rule_only_says_its_message_and_the_bot_stays_in_charge(fake_openai):
    chat = Chat(bot(RULES_BOT))
    assert await chat.say("what are your hours") == "We are open 9 to 5."
    assert chat.state.status == "active"
    assert events_of(await chat.send("thanks, and where is my parcel?"), "handoff") == []


async def test_a_transfer_rule_transfers_calls_and_sends_chats_to_its_queue(fake_openai):
    call = Chat(bot(RULES_BOT), mode="voice", channel="phone")
    [handoff] = events_of(await call.send("get me your manager"), "handoff")
    assert handoff.transfer_to == "+14155550199"
    chat = Chat(bot(RULES_BOT))
    [handoff] = events_of(await chat.send("get me your manager"), "handoff")
    assert (handoff.queue, handoff.transfer_to) == ("managers", "")


async def test_a_handoff_rule_hands_chats_to_its_queue_without_a_number(fake_openai):
    chat = Chat(bot(RULES_BOT))
    [handoff] = events_of(await chat.send("I want to talk to a real person"), "handoff")
    assert (handoff.queue, handoff.transfer_to) == ("support", "")


async def test_each_prompt_answers_on_its_own_kind_of_channel(fake_openai):
    await Chat(bot(RULES_BOT)).say("where is my parcel?")
    await Chat(bot(RULES_BOT), mode="voice", channel="phone").say("where is my parcel?")
    systems = [r["body"]["messages"][0]["content"] for r in fake_openai.chat_requests()]
    assert "You answer in writing." in systems[0] and "out loud" not in systems[0]
    assert "You answer out loud in one short sentence." in systems[1]


async def test_a_prompt_for_both_answers_everywhere(fake_openai):
    both = bot(RULES_BOT.replace("mode: chat}", "mode: both}"))
    await Chat(both, mode="voice", channel="phone").say("where is my parcel?")
    assert "You answer in writing." in fake_openai.chat_requests()[0]["body"]["messages"][0]["content"]


CONTACT_BOT = """
switchboard: 1
name: Callback bot
slug: callback-bot
prompts:
  - {name: answer, system: You are helpful.}
escalation_rules:
  - name: Leave details
    trigger: explicit_request
    action: collect_contact
    queue: support
    message: Nobody is free to chat, but leave your email or phone number and we will call you back.
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {id: answer, kind: llm, prompt: answer}
"""


@pytest.mark.django_db(transaction=True)
async def test_a_collect_contact_rule_asks_for_details_and_leaves_a_callback_request(asgi_server, fake_openai):
    @db
    def make():
        workspace = Workspace.objects.create(name="Acme", slug="acme-callback")
        made = import_bot(workspace=workspace, text=CONTACT_BOT)
        publish_bot(bot=made, user=None)
        return made

    made = await make()
    async with customer(asgi_server, made.public_key) as user:
        ready = await user.start()
        frames = await user.say("can I speak to a human please")
        asked = next((f for f in frames if f["type"] == "message"), None)
        assert asked, frames
        assert asked["text"].startswith("Nobody is free to chat, but leave your email")
        _, again = await user.answered("later maybe")
        assert "doesn't look like an email address" in again["text"]
        _, thanks = await user.answered("it's sam@example.org")
        assert "s•••@example.org" in thanks["text"]
    handoff = await handoff_of(ready["conversation_id"])
    assert (handoff["status"], handoff["queue"]) == ("callback", "support")
    ticket = await db(Ticket.objects.get)(handoff_id=handoff["id"])
    assert ticket.kind == "email" and ticket.contact_masked == "s•••@example.org"


@pytest.mark.django_db(transaction=True)
def test_the_ai_intent_mode_is_chosen_in_the_admin_published_and_used(fake_openai):
    workspace = Workspace.objects.create(name="Acme", slug="acme-nlu")
    builder = make_user(workspace, Membership.Role.BUILDER, "nlu-bea")
    made = import_bot(
        workspace=workspace,
        text="""
switchboard: 1
name: Intent bot
slug: intent-bot
intents:
  - {name: refund, examples: [I want my money back, refund please, give me a refund]}
flows:
  - name: main
    is_entry: true
    graph:
      entry: route
      nodes:
        - {id: route, kind: intent, routes: [{intent: refund, next: refunds}], fallback: dunno}
        - {id: refunds, kind: message, text: Refunds take five days.}
        - {id: dunno, kind: message, text: "Sorry?"}
""",
    )
    client = Client()
    client.force_login(builder)
    page = client.get(f"/admin/bots/bot/{made.pk}/change/")
    assert "How the bot understands intents" in page.content.decode()

    bad = client.patch(f"/api/v1/bots/{made.pk}", {"nlu": "telepathy"}, content_type="application/json")
    assert bad.status_code == 422 and Bot.objects.get(pk=made.pk).nlu == "local"

    assert client.patch(f"/api/v1/bots/{made.pk}", {"nlu": "llm"}, content_type="application/json").status_code == 200
    version, _ = publish_bot(bot=Bot.objects.get(pk=made.pk), user=builder)
    assert BotVersion.objects.get(pk=version.pk).snapshot["nlu"] == "llm"

    # Words the built-in classifier has never seen; the AI model recognises the refund.
    fake_openai.script(Reply(text=json.dumps({"intent": "refund", "confidence": 0.93})))
    snapshot = bot(json.dumps(version.snapshot))

    reply = asyncio.run(Chat(snapshot).say("this toaster is junk, reimburse me"))
    assert reply == "Refunds take five days."
    assert fake_openai.chat_requests()[0]["body"]["response_format"]["type"] == "json_object"
    assert Conversation.objects.count() == 0
