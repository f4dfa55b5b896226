"""Voice fixtures: the vendor fakes (Deepgram, ElevenLabs, Twilio REST) and an ASGI server
pointed at them, and a published phone bot to call."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import vendor_env
from tests.fakes.deepgram_server import FakeDeepgram
from tests.fakes.elevenlabs_server import FakeElevenLabs
from tests.fakes.twilio_client import FakeTwilioRest, TwilioCall
from tests.processes import start_asgi
from tests.services import subprocess_env
from voice.models import Call

PUBLIC = "https://voice.example.test"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-auth-token"
BOT_NUMBER = "+14155550100"


@pytest.fixture(scope="session")
def fake_deepgram():
    fake = FakeDeepgram().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_elevenlabs():
    fake = FakeElevenLabs().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_twilio():
    fake = FakeTwilioRest(ACCOUNT_SID, AUTH_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def voice_server(django_db_setup, django_db_blocker, fake_openai_server, fake_deepgram, fake_elevenlabs, fake_twilio):
    env = subprocess_env(
        **vendor_env(fake_openai_server),
        PUBLIC_BASE_URL=PUBLIC,
        # Twilio's requests reach this server directly, as they would from a TLS proxy that forwards
        # only HTTPS (and redirects plain HTTP itself).
        SSL_REDIRECT="false",
        DEEPGRAM_API_KEY="dg-test-key",
        DEEPGRAM_BASE_URL=fake_deepgram.base_url,
        ELEVENLABS_API_KEY="el-test-key",
        ELEVENLABS_BASE_URL=fake_elevenlabs.base_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
    )
    proc, base = start_asgi(env)
    yield base
    proc.stop()


@pytest.fixture
def fakes(fake_openai, fake_deepgram, fake_elevenlabs, fake_twilio):
    for fake in (fake_deepgram, fake_elevenlabs, fake_twilio):
        fake.reset()
    yield fake_openai, fake_deepgram, fake_elevenlabs, fake_twilio


@pytest.fixture
async def place_call(voice_server, fake_twilio):
    calls: list[TwilioCall] = []

    async def place(to: str = BOT_NUMBER) -> TwilioCall:
        call = await TwilioCall.place(
            voice_server, public_base_url=PUBLIC, auth_token=AUTH_TOKEN, to=to, rest=fake_twilio
        )
        calls.append(call)
        return call

    yield place
    for call in calls:
        await call.close()
    # The server finishes the call after its socket closes (messages, outcome): let it, before
    # the test database is flushed under it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and await Call.objects.filter(outcome=Call.Outcome.ONGOING).aexists():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)


BOT_YAML = """
switchboard: 1
name: Acme Phone
slug: acme-phone
greeting: Thanks for calling Acme.
voice:
  silence_timeout_s: 1.5
  silence_reprompts: 1
  transfer_number: "+14155550199"
  barge_in_sensitivity: {sensitivity}
  tts_fallback_voice: backup-voice
prompts:
  - name: answer
    system: You answer questions about Acme on the phone.
    mode: voice
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - id: answer
          kind: llm
          prompt: answer
channels:
  - kind: phone
    phone_number: "{number}"
"""


def publish(yaml_text: str, knowledge: dict[str, str] | None = None):
    """Import a bot from YAML into a fresh workspace and publish it. `knowledge`: a knowledge
    base "Help Center" (full-text search) holding these documents, title -> text."""
    from bots.models import Workspace
    from bots.services import publish_bot
    from bots.yaml_io import import_bot
    from knowledge.models import KnowledgeBase
    from knowledge.services import document_add_text

    n = Workspace.objects.count() + 1
    workspace = Workspace.objects.create(name=f"Acme {n}", slug=f"acme-{n}")
    if knowledge:
        kb = KnowledgeBase.objects.create(workspace=workspace, name="Help Center", embedding_provider="none")
        for title, text in knowledge.items():
            document_add_text(kb=kb, title=title, text=text, run_now=True)
    bot = import_bot(workspace=workspace, text=yaml_text)
    publish_bot(bot=bot, user=None)
    return bot


HOURS = "Opening hours: Acme is open Monday to Friday from nine to five."


@pytest.fixture
def phone_bot(transactional_db):
    text = BOT_YAML.format(sensitivity="medium", number=BOT_NUMBER)
    text = text.replace(
        "          prompt: answer\n", "          prompt: answer\n          knowledge_bases: [Help Center]\n"
    )
    text = text.replace("flows:", "knowledge_bases: [Help Center]\nflows:")
    return publish(text, knowledge={"Opening hours": HOURS})


@pytest.fixture
def patient_bot(transactional_db):
    """Tolerant barge-in: listener noises do not interrupt it, real words do."""
    return publish(BOT_YAML.format(sensitivity="tolerant", number=BOT_NUMBER))


@pytest.fixture
def sensitive_bot(transactional_db):
    """High barge-in sensitivity: even a short sound stops it."""
    return publish(BOT_YAML.format(sensitivity="high", number=BOT_NUMBER))


FLOW_BOT_YAML = """
switchboard: 1
name: Acme Desk
slug: acme-desk
greeting: Welcome to Acme.
voice:
  transfer_number: "+14155550199"
prompts:
  - name: answer
    system: You answer questions about Acme on the phone.
    mode: voice
intents:
  - name: person
    examples: ["I want to talk to a person", "human agent please", "put me through to someone"]
escalation_rules:
  - name: asked for a person
    trigger: keyword
    keywords: ["agent"]
    action: transfer
    message: Connecting you to a colleague.
flows:
  - name: main
    is_entry: true
    graph:
      entry: ask_name
      nodes:
        - id: ask_name
          kind: ask
          slot: name
          prompt: What is your name?
          next: ask_account
        - id: ask_account
          kind: ask
          slot: account
          type: digits
          prompt: Please type your account number, then the hash key.
          next: thanks
        - id: thanks
          kind: message
          text: Thanks {{{{ name }}}}, account {{{{ account }}}} is in good standing.
          next: bye
        - id: bye
          kind: end
          message: Goodbye.
channels:
  - kind: phone
    phone_number: "{number}"
"""


@pytest.fixture
def flow_bot(transactional_db):
    return publish(FLOW_BOT_YAML.format(number=BOT_NUMBER))
