"""The public API fuzzed from its own OpenAPI document (schemathesis), against the running server
with a workspace key that may do everything: whatever a client sends, the answer is never a
server error and always one the document describes (status, content type, body shape).

The example budget is small and derandomised, so the run is the same on every machine and CI
stays fast; raise FUZZ_EXAMPLES locally to dig deeper."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bots.models import API_SCOPES, Workspace
from bots.services import create_api_key, publish_bot
from bots.yaml_io import import_bot
from config.api import api
from tests.security.conftest import MEMORY_BOT

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_key(transactional_db) -> str:
    """A workspace with a published bot, and a key with every scope: the fuzzer reaches real rows."""
    workspace = Workspace.objects.create(slug="fuzz", name="Fuzz")
    publish_bot(bot=import_bot(workspace=workspace, text=MEMORY_BOT.format(slug="fuzz-bot")), user=None)
    _, raw = create_api_key(workspace=workspace, name="fuzz", scopes=list(API_SCOPES))
    return raw


# The document /api/v1/openapi.json serves, built from the same code (schemathesis needs it when
# the tests are collected, before the server starts).
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_within_its_schema_whatever_it_is_sent(case, fuzz_key, security_server):
    case.call_and_validate(
        base_url=security_server,
        headers={"Authorization": f"Bearer {fuzz_key}", "X-Forwarded-For": "203.0.113.77"},
        checks=CHECKS,
        timeout=30,
    )
