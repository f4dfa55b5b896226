"""Item: outbound requests a builder or a visitor can aim (tools, knowledge URLs, webhooks) never
reach this machine, the private network or a cloud metadata service, however the address is
spelled, through a redirect or through a name that resolves there; the workspace's host list
only narrows, private networks are a separate owner's switch, and metadata is never reachable.

The target is a real server on loopback that records what it receives: a guard that let an
attack through would show up there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from bots.models import Membership, Workspace
from dialogue import netguard
from integrations.models import WebhookEndpoint
from knowledge.models import Document, KnowledgeBase
from tests.security.canary import Canary, chat, fetcher_bot, said, tool_results
from tests.security.conftest import api_client

# Spellings of this machine and the private network, each aimed at the canary's port.
LOOPBACK_FORMS = [
    "127.0.0.1",
    "localhost",
    "LocalHost.",
    "2130706433",  # decimal
    "0x7f000001",  # hex
    "0x7f.0.0.1",
    "0177.0.0.1",  # octal
    "127.1",  # short form
    "0",
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[64:ff9b::7f00:1]",  # NAT64
    "[2002:7f00:1::]",  # 6to4
    "[fe80::1%25lo]",  # link-local with a zone id
    "user:pw@127.0.0.1",
]
PRIVATE_TARGETS = [
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://255.255.255.255/",
    "http://[fc00::1]/",
    "http://[fec0::1]/",  # site-local IPv6, deprecated but still routed in some networks
    "http://[::ffff:10.0.0.1]/",
]
METADATA_TARGETS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://2852039166/latest/meta-data/",  # 169.254.169.254 as a number
    "http://0xa9fea9fe/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",  # ECS task credentials
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata.google.internal./computeMetadata/v1/",
]
OPEN = netguard.Policy()
# The owner allowed private networks for one internal host.
INTERNAL = netguard.Policy(allowed_hosts=("127.0.0.1",), allow_private=True)


@pytest.fixture(scope="module")
def canary():
    server = Canary().start()
    yield server
    server.stop()


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
async def test_every_spelling_of_this_machine_is_refused(canary, host):
    url = f"http://{host}:{canary.port}/admin"
    with pytest.raises(netguard.BlockedAddress):
        await netguard.fetch("GET", url, policy=OPEN)
    with pytest.raises(netguard.BlockedAddress):
        netguard.fetch_sync("GET", url, policy=OPEN)
    assert canary.hits("/admin") == []


@pytest.mark.parametrize("url", PRIVATE_TARGETS)
async def test_private_multicast_and_reserved_ranges_are_refused(url):
    with pytest.raises(netguard.BlockedAddress, match="private or internal address"):
        await netguard.fetch("GET", url, policy=OPEN, timeout_s=2)


@pytest.mark.parametrize("url", METADATA_TARGETS)
async def test_cloud_metadata_is_refused_even_where_private_networks_are_allowed(url):
    host = url.split("/")[2].strip("[]")
    everything = netguard.Policy(allowed_hosts=(host, "*.internal"), allow_private=True)
    with pytest.raises(netguard.BlockedAddress, match="cloud metadata"):
        await netguard.fetch("GET", url, policy=everything, timeout_s=2)


async def test_the_host_list_only_narrows_it_never_opens_loopback(canary):
    # The reported hole: a host in the list skipped every check.
    listed = netguard.Policy(allowed_hosts=("127.0.0.1", "localhost"))
    with pytest.raises(netguard.BlockedAddress, match="private or internal address"):
        await netguard.fetch("GET", canary.url("/listed"), policy=listed)
    assert canary.hits("/listed") == []
    # With the owner's switch on, the listed host is reached; a host not on the list is not.
    ok = await netguard.fetch("GET", canary.url("/listed"), policy=INTERNAL)
    assert ok.ok and len(canary.hits("/listed")) == 1
    with pytest.raises(netguard.BlockedAddress, match="not among the workspace's allowed hosts"):
        await netguard.fetch("GET", canary.url("/listed", host="localhost"), policy=INTERNAL)
    assert len(canary.hits("/listed")) == 1


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:{port}/after",  # a name that is not on the list
        "http://2130706433:{port}/after",
        "http://[::ffff:127.0.0.1]:{port}/after",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/after",
    ],
)
async def test_a_redirect_is_checked_like_the_first_address(canary, target):
    to = target.format(port=canary.port)
    with pytest.raises(netguard.BlockedAddress):
        await netguard.fetch("GET", canary.url(f"/redirect?to={to}"), policy=INTERNAL)
    with pytest.raises(netguard.BlockedAddress):
        netguard.fetch_sync("GET", canary.url(f"/redirect?to={to}&code=307"), policy=INTERNAL)
    assert canary.hits("/after") == []


def fetched(base: str, workspace: Workspace, urls: list[str]) -> tuple[list[str], list[str]]:
    """Publish a fetcher tool for each URL and let a visitor run it once: what they were told,
    and what each tool answered."""
    bots = [fetcher_bot(workspace, url, slug=f"fetcher-{i}") for i, url in enumerate(urls)]
    replies = [said(reply) for bot in bots for reply in chat(base, bot, "that page please")]
    return replies, [result for bot in bots for result in tool_results(bot)]


def test_a_published_tool_cannot_fetch_internal_addresses(transactional_db, security_server, canary):
    workspace = Workspace.objects.create(name="Shop", slug="shop")
    targets = [
        canary.url("/stolen"),
        f"http://2130706433:{canary.port}/stolen",
        f"http://[::ffff:127.0.0.1]:{canary.port}/stolen",
        f"http://localhost:{canary.port}/stolen",
        canary.url(f"/redirect?to=http://127.0.0.1:{canary.port}/stolen"),
        "http://169.254.169.254/latest/meta-data/",
    ]
    replies, results = fetched(security_server, workspace, targets)
    assert replies == ["Could not fetch that page. Which page?"] * len(targets)
    assert len(results) == len(targets)
    assert all("private or internal address" in r or "cloud metadata" in r for r in results), results
    assert canary.hits("/stolen") == [] and canary.hits("/redirect") == []


def test_the_owners_switch_opens_the_listed_internal_host_and_nothing_else(transactional_db, security_server, canary):
    workspace = Workspace.objects.create(
        name="Shop", slug="shop", tool_allowed_hosts=["127.0.0.1"], allow_private_networks=True
    )
    targets = [
        canary.url("/inventory"),
        f"http://localhost:{canary.port}/inventory",
        "http://169.254.169.254/latest/meta-data/",
    ]
    replies, _ = fetched(security_server, workspace, targets)
    assert replies == [
        "Fetched it. Which page?",
        "Could not fetch that page. Which page?",
        "Could not fetch that page. Which page?",
    ]
    assert len(canary.hits("/inventory")) == 1


def test_knowledge_urls_and_crawls_are_refused_through_the_api(
    transactional_db, security_server, celery_worker, canary
):
    workspace = Workspace.objects.create(name="Shop", slug="shop")
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Help", embedding_provider="none")
    with api_client(security_server, workspace, "bots:read", "bots:write") as api:
        odd = api.post(f"/api/v1/knowledge/bases/{kb.id}/documents", json={"url": f"http://2130706433:{canary.port}/"})
        assert odd.status_code == 400 and "is not a web address" in odd.text  # refused at the door
        for url in (canary.url(f"/redirect?to={canary.url('/kb')}"), f"http://localhost:{canary.port}/kb"):
            added = api.post(f"/api/v1/knowledge/bases/{kb.id}/documents", json={"url": url, "crawl_depth": 1})
            assert added.status_code == 201, added.text
    assert Document.objects.filter(kb=kb).count() == 2
    for document in Document.objects.filter(kb=kb):
        document = wait_for_failure(document)
        assert "private or internal address" in document.error
    assert canary.hits("/kb") == []


def wait_for_failure(document: Document) -> Document:
    import time

    deadline = time.monotonic() + 30
    while document.status != Document.Status.FAILED:
        assert time.monotonic() < deadline, (document.status, document.error)
        time.sleep(0.1)
        document.refresh_from_db()
    return document


def test_an_owner_cannot_point_a_webhook_at_internal_addresses(transactional_db, canary):
    workspace = Workspace.objects.create(name="Shop", slug="shop")
    owner = get_user_model().objects.create_user("olga", "olga@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=owner, workspace=workspace, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(owner)
    for url in (f"http://0x7f000001:{canary.port}/hook", "http://[fd00:ec2::254]/", "http://10.1.2.3/hook"):
        page = client.post(
            "/admin/integrations/webhookendpoint/add/",
            {"workspace": workspace.pk, "name": "Helpdesk", "url": url, "events": ["handoff.created"]},
        )
        text = page.content.decode()
        assert page.status_code == 200 and ("which bots may" in text or "Enter a valid URL" in text), url
    assert not WebhookEndpoint.objects.exists() and canary.hits("/hook") == []
