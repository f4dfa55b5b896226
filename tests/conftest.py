"""Shared fixtures: vendor fakes and real processes, started once per session."""

from __future__ import annotations

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.processes import start_asgi, start_worker
from tests.services import subprocess_env


@pytest.fixture(scope="session")
def fake_openai_server():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_openai(fake_openai_server, settings):
    """The fake OpenAI server, reset, with this process's settings pointed at it."""
    fake_openai_server.reset()
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = fake_openai_server.base_url
    yield fake_openai_server
    fake_openai_server.reset()


def vendor_env(fake_openai_server) -> dict[str, str]:
    return {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake_openai_server.base_url}


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, fake_openai_server):
    """A real Celery worker on the session's Redis, writing to the test database."""
    proc = start_worker(subprocess_env(**vendor_env(fake_openai_server)))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker, fake_openai_server):
    """A real uvicorn serving config.asgi on a free port; yields its base URL."""
    proc, base = start_asgi(subprocess_env(**vendor_env(fake_openai_server)))
    yield base
    proc.stop()


@pytest.fixture
def browser(monkeypatch):
    """Headless chromium. Playwright's sync API keeps an event loop in this thread; the ORM calls
    between browser steps are ordinary blocking calls of the test, which Django allows once told so."""
    from playwright.sync_api import sync_playwright

    from tests.playwright_support import launch

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
