"""A server for builders' browser tests with the phone vendors pointed at their fakes (voice
samples, Twilio number set-up), on plain http like `make run`."""

from __future__ import annotations

import pytest

from tests.conftest import vendor_env
from tests.processes import start_asgi
from tests.services import subprocess_env
from tests.voice.conftest import ACCOUNT_SID, AUTH_TOKEN, fake_elevenlabs, fake_twilio  # noqa: F401


# One server per test: builders' pages write the admin's change log, whose content type ids the
# server caches, and a transactional test's flush recreates those rows under new ids.
@pytest.fixture
def builder_server(django_db_setup, django_db_blocker, fake_openai_server, fake_elevenlabs, fake_twilio):  # noqa: F811
    env = subprocess_env(
        **vendor_env(fake_openai_server),
        ELEVENLABS_API_KEY="el-test-key",
        ELEVENLABS_BASE_URL=fake_elevenlabs.base_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
    )
    proc, base = start_asgi(env)
    yield base
    proc.stop()
