"""Item: a tool call's request keeps the shape its builder gave it. A visitor's answer cannot
add a path segment, a query or a fragment to its URL, nor rewrite a JSON body, credentials do not follow a redirect to another host, and a server that
answers slowly, byte by byte, is cut off at the tool's time limit. Tried over the running server
against a local service that records what it receives."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from bots.models import Workspace
from bots.schema import ToolSpec
from bots.services import set_secret
from dialogue import netguard
from dialogue.tools import run_tool
from tests.security.canary import Canary, chat, said, tool_bot, tool_results

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def service():
    server = Canary().start()
    yield server
    server.stop()


@pytest.fixture
def workspace(transactional_db):
    # The owner runs the service on this machine and allowed it, and only it, on purpose.
    return Workspace.objects.create(
        name="Shop", slug="shop", tool_allowed_hosts=["127.0.0.1", "localhost"], allow_private_networks=True
    )


@pytest.mark.parametrize(
    "note",
    [
        'x", "admin": true, "note": "y',
        '"}, "admin": true, "z": {"a": "',
        '\\", \\"admin\\": true, \\"',
        "{{ 7 * 7 }} {% if true %}yes{% endif %}",
        "line\nbreak\t\u2028 and \u0000 nul",
    ],
)
def test_a_quote_in_a_visitors_answer_stays_inside_its_json_string(security_server, service, workspace, note):
    bot = tool_bot(
        workspace,
        method="POST",
        url=service.url("/orders"),
        body='{"note": "{{ note }}", "admin": false, "source": "chat"}',
    )
    (reply,) = chat(security_server, bot, note)
    assert said(reply) == "Sent."
    received = json.loads(service.hits("/orders")[-1]["body"])
    assert received == {"note": note.strip(), "admin": False, "source": "chat"}


def test_credentials_do_not_follow_a_redirect_to_another_host(security_server, service, workspace):
    set_secret(workspace=workspace, name="API_KEY", value="sk-live-0123456789", hosts=["127.0.0.1", "localhost"])
    headers = {"Authorization": "Bearer {{ secrets.API_KEY }}", "X-Api-Key": "{{ secrets.API_KEY }}", "Cookie": "s=1"}
    elsewhere = service.url("/landed", host="localhost")
    bot = tool_bot(workspace, url=service.url(f"/redirect?to={elsewhere}"), headers=headers, secrets=["API_KEY"])
    (reply,) = chat(security_server, bot, "hello")
    assert said(reply) == "Sent."
    first, landed = service.hits("/redirect")[-1]["headers"], service.hits("/landed")[-1]["headers"]
    assert first["authorization"] == "Bearer sk-live-0123456789" and first["x-api-key"] == "sk-live-0123456789"
    assert not {"authorization", "x-api-key", "cookie"} & set(landed)
    assert "sk-live" not in json.dumps(landed)


def test_credentials_follow_a_redirect_on_the_same_service(security_server, service, workspace):
    set_secret(workspace=workspace, name="API_KEY", value="sk-live-0123456789", hosts=["127.0.0.1"])
    headers = {"Authorization": "Bearer {{ secrets.API_KEY }}"}
    bot = tool_bot(workspace, url=service.url("/redirect?to=/moved"), headers=headers, secrets=["API_KEY"])
    chat(security_server, bot, "hello")
    assert service.hits("/moved")[-1]["headers"]["authorization"] == "Bearer sk-live-0123456789"


def test_a_slow_drip_is_cut_off_at_the_tools_time_limit(security_server, service, workspace):
    # Every byte arrives well within a per-read timeout; only a deadline for the whole call stops it.
    bot = tool_bot(workspace, url=service.url("/drip?seconds=30"), timeout=1)
    (reply,) = chat(security_server, bot, "hello")
    assert said(reply) == "That did not work."
    assert tool_results(bot) == ["call did not answer within 1 seconds."]


def test_a_redirect_chain_shares_one_deadline(security_server, service, workspace):
    drip = service.url("/drip?seconds=30")
    bot = tool_bot(workspace, url=service.url(f"/redirect?to={drip}"), timeout=1)
    (reply,) = chat(security_server, bot, "hello")
    assert tool_results(bot) == ["call did not answer within 1 seconds."]


def test_a_line_break_in_a_visitors_answer_cannot_add_a_header(security_server, service, workspace):
    bot = tool_bot(workspace, url=service.url("/headers"), headers={"X-Note": "{{ args.note }}"})
    before = len(service.hits("/headers"))
    (reply,) = chat(security_server, bot, "bob\r\nX-Admin: yes")
    assert said(reply) == "That did not work."
    assert "would contain a line break" in tool_results(bot)[0]
    assert len(service.hits("/headers")) == before


@pytest.mark.parametrize("name", ["note", "args.note"])
@pytest.mark.parametrize("note", ["..", ".", "../../admin", "a/../../admin?x=1#frag", "%2e%2e", "..;"])
def test_a_visitors_answer_stays_one_segment_of_the_tools_path(security_server, service, workspace, name, note):
    bot = tool_bot(workspace, url=service.url(f"/api/v1/users/{{{{ {name} }}}}/profile?k=1"))
    (reply,) = chat(security_server, bot, note)
    assert said(reply) == "Sent."
    received = urlsplit(service.requests[-1]["target"])
    root, users, segment, tail = received.path.rsplit("/", 3)
    assert (root, users, tail, received.query) == ("/api/v1", "users", "profile", "k=1")
    assert unquote(segment) == note


def test_a_visitors_answer_stays_one_query_value(security_server, service, workspace):
    bot = tool_bot(workspace, url=service.url("/search?q={{ note }}&k=1"))
    chat(security_server, bot, "shoes&admin=1#top")
    received = urlsplit(service.requests[-1]["target"])
    assert received.path == "/search" and parse_qs(received.query) == {"q": ["shoes&admin=1#top"], "k": ["1"]}


def call_tool(url: str, arguments: dict):
    """The tool as the LLM would call it, with list and object arguments a text flow cannot give."""
    spec = ToolSpec(name="lookup", url=url, parameters={"type": "object"})
    policy = netguard.Policy(allow_private=True)
    return asyncio.run(run_tool(spec, arguments, secrets={}, policy=policy))


def test_a_list_or_object_goes_into_a_tool_url_only_item_by_item(service):
    before = len(service.requests)
    for value in (["../../admin?x=", "#"], {"a": "/../../admin?z="}):
        refused = call_tool(service.url("/items/{{ ids }}/x"), {"ids": value})
        assert not refused.ok and "a list or an object cannot go into a URL whole" in refused.text
    assert len(service.requests) == before
    joined = call_tool(
        service.url("/items/{{ ids | join(',') }}/{{ order.id }}"), {"ids": ["a/b", ".."], "order": {"id": ".."}}
    )
    assert joined.ok and service.requests[-1]["target"] == "/items/a%2Fb,%2E%2E/%2E%2E"
