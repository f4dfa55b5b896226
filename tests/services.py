"""pytest plugin (loaded with `-p tests.services`): embedded Postgres and Redis for the session.

It must run before pytest-django reads the settings, so it is a plugin hook rather than a
fixture: each pytest process gets its own servers in a temporary directory, so two runs on
one machine never share a database. `subprocess_env()` gives the environment for the real
processes a test starts (Celery worker, ASGI server), pointed at the test database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from config import embedded
from tests.processes import LOGS

_services: embedded.EmbeddedServices | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _services
    os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "hXFYtJ0hZ4zqH0oVtkNn3Qm3NqSpq6s0f2h1vY7n2Xo=")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    os.environ["DEBUG"] = "false"
    os.environ["PUBLIC_BASE_URL"] = os.environ.get("TEST_PUBLIC_BASE_URL", "http://testserver")
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DEEPGRAM_API_KEY", "ELEVENLABS_API_KEY"):
        os.environ.pop(name, None)  # tests opt in to a vendor by pointing it at a fake
    shutil.rmtree(LOGS, ignore_errors=True)  # server logs of the previous run
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return
    root = Path(tempfile.mkdtemp(prefix="sb-test-"))
    os.chmod(root, 0o755)  # pgserver runs postgres as its own user when we are root
    _services = embedded.start(root, postgres=not os.environ.get("DATABASE_URL"), redis=not os.environ.get("REDIS_URL"))
    os.environ.update({k: v for k, v in embedded.environ_with(_services).items() if k in ("DATABASE_URL", "REDIS_URL")})


def pytest_unconfigure(config):
    if _services is not None:
        _services.stop()
        embedded.remove(_services.root)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a server process that must see the test database."""
    from django.conf import settings

    env = dict(os.environ)
    url = env["DATABASE_URL"]
    test_name = settings.DATABASES["default"]["NAME"]
    env["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + test_name
    env["TEST_DATABASE_NAME"] = test_name
    env["PYTHONUNBUFFERED"] = "1"
    # Every visitor of the whole suite comes from one loopback address, so the per-address limit
    # on new conversations would stop tests that have nothing to do with it; the limits have their
    # own tests with their own small values (tests/security).
    env["CHAT_CONVERSATIONS_PER_MINUTE_IP"] = "100000"
    env.update(extra)
    return env
