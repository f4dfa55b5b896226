"""Item: a workspace secret goes only to the hosts it is bound to, whatever a builder writes in a
tool (URL, headers, body) and wherever a redirect points; an owner binds it in the admin or the
API, and only an owner can open private networks. Templates are sandboxed with budgets: a
builder's `{{ "x" * 10**10 }}` or `range(10**9)` fails at once with a reason, and the server
keeps answering everyone else."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from bots.models import Membership, Secret, Workspace
from bots.services import set_secret
from tests.security.canary import Canary, chat, publish, said, tool_bot, tool_results

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "sk-live-0123456789abcdef"


@pytest.fixture(scope="module")
def service():
    server = Canary().start()
    yield server
    server.stop()


@pytest.fixture
def workspace(transactional_db):
    ws = Workspace.objects.create(
        name="Shop", slug="shop", tool_allowed_hosts=["127.0.0.1", "localhost"], allow_private_networks=True
    )
    set_secret(workspace=ws, name="SHOP_KEY", value=SECRET, hosts=["127.0.0.1"])
    return ws


def exfiltrated(service) -> bool:
    return any(SECRET in str(request) for request in service.requests if request["path"] != "/api")


@pytest.mark.parametrize(
    "where",
    [
        {"url": "http://localhost:{port}/collect?k={{{{ secrets.SHOP_KEY }}}}"},
        {"url": "http://localhost:{port}/collect", "headers": {"X-Token": "{{{{ secrets.SHOP_KEY }}}}"}},
        {"url": "http://localhost:{port}/collect", "method": "POST", "body": '{{"k": "{{{{ secrets.SHOP_KEY }}}}"}}'},
    ],
    ids=["url", "header", "body"],
)
def test_a_secret_is_not_sent_to_a_host_it_is_not_bound_to(security_server, service, workspace, where):
    spec = {k: v.format(port=service.port) if isinstance(v, str) else v for k, v in where.items()}
    if "headers" in spec:
        spec["headers"] = {k: v.replace("{{{{", "{{").replace("}}}}", "}}") for k, v in spec["headers"].items()}
    bot = tool_bot(workspace, secrets=["SHOP_KEY"], **spec)
    (reply,) = chat(security_server, bot, "hello")
    assert said(reply) == "That did not work."
    (result,) = tool_results(bot)
    assert result.startswith("call was not called: The secret SHOP_KEY may not be sent to localhost (it is bound to:")
    assert service.hits("/collect") == [] and not exfiltrated(service)


def test_a_secret_in_a_body_does_not_follow_a_redirect_to_another_host(security_server, service, workspace):
    elsewhere = service.url("/collect", host="localhost")
    bot = tool_bot(
        workspace,
        method="POST",
        url=service.url(f"/redirect?code=307&to={elsewhere}"),
        body='{"k": "{{ secrets.SHOP_KEY }}"}',
        secrets=["SHOP_KEY"],
    )
    (reply,) = chat(security_server, bot, "hello")
    assert said(reply) == "That did not work."
    assert "may not be sent to localhost" in tool_results(bot)[0]
    assert service.hits("/collect") == []


def test_the_bound_host_gets_the_secret(security_server, service, workspace):
    bot = tool_bot(
        workspace, url=service.url("/api"), headers={"X-Token": "{{ secrets.SHOP_KEY }}"}, secrets=["SHOP_KEY"]
    )
    (reply,) = chat(security_server, bot, "hello")
    assert said(reply) == "Sent." and service.hits("/api")[-1]["headers"]["x-token"] == SECRET


def _person(workspace, role, name) -> Client:
    user = get_user_model().objects.create_user(name, f"{name}@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=user, workspace=workspace, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_an_owner_binds_a_secret_to_hosts_in_the_admin_and_bad_hosts_are_refused(workspace):
    owner = _person(workspace, Membership.Role.OWNER, "olga")
    add = "/admin/bots/secret/add/"
    for hosts, problem in [
        ("", "Name at least one host"),
        ("https://api.example.com/v1", "should be a host name only"),
        ("api example com", "should be a host name only"),
        ("-bad-.example.com", "is not a host name"),
    ]:
        page = owner.post(
            add, {"workspace": workspace.pk, "name": "MAIL_KEY", "value": "m-123456", "allowed_hosts": hosts}
        )
        assert page.status_code == 200 and problem in page.content.decode(), hosts
    assert not Secret.objects.filter(name="MAIL_KEY").exists()
    saved = owner.post(
        add,
        {
            "workspace": workspace.pk,
            "name": "MAIL_KEY",
            "value": "m-123456",
            "allowed_hosts": "API.mail.example\n*.mail.example",
        },
    )
    assert saved.status_code == 302
    assert Secret.objects.get(name="MAIL_KEY").allowed_hosts == ["api.mail.example", "*.mail.example"]


def test_the_api_needs_the_hosts_of_a_secret(security_server, workspace):
    owner = get_user_model().objects.create_user("olga", "olga@example.com", "pw-for-tests-1")
    Membership.objects.create(user=owner, workspace=workspace, role=Membership.Role.OWNER)
    client = Client()
    client.force_login(owner)
    url = f"/api/v1/workspaces/{workspace.pk}/secrets"
    missing = client.put(url, {"name": "MAIL_KEY", "value": "m-123456"}, content_type="application/json")
    bad = client.put(
        url, {"name": "MAIL_KEY", "value": "m-123456", "allowed_hosts": ["http://x/"]}, content_type="application/json"
    )
    assert missing.status_code == 422 and bad.status_code == 422 and "host name only" in bad.text
    assert not Secret.objects.filter(name="MAIL_KEY").exists()
    ok = client.put(
        url,
        {"name": "MAIL_KEY", "value": "m-123456", "allowed_hosts": ["api.mail.example"]},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["allowed_hosts"] == ["api.mail.example"]


def test_only_an_owner_can_allow_private_networks_and_the_admin_warns(workspace):
    Workspace.objects.filter(pk=workspace.pk).update(allow_private_networks=False)
    change = f"/admin/bots/workspace/{workspace.pk}/change/"
    form = {"name": "Shop", "slug": "shop", "tool_allowed_hosts": "127.0.0.1", "allow_private_networks": "on"}
    form |= {"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"}
    builder = _person(workspace, Membership.Role.BUILDER, "bob")
    builder.post(change, form)
    workspace.refresh_from_db()
    assert workspace.allow_private_networks is False

    owner = _person(workspace, Membership.Role.OWNER, "olga")
    page = owner.get(change).content.decode()
    assert "Allow private networks (risky)" in page and "call services inside your network" in page
    saved = owner.post(change, form, follow=True)
    workspace.refresh_from_db()
    assert workspace.allow_private_networks is True
    assert "may call private networks" in saved.content.decode()


BOMBS = [
    '{{ "x" * 10**10 }}',
    "{{ range(10**9) | list }}",
    "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
    '{{ "a".center(10**9) }}',
    '{{ "%999999999s" % 1 }}',
    '{{ "{:>999999999}".format(1) }}',
    "{{ 9 ** 999999 }}",
    '{{ (("x" * 99999) | list) | join("y" * 99999) }}',
]


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_template_bomb_in_a_tool_fails_at_once_with_the_reason(security_server, service, workspace, bomb):
    bot = tool_bot(workspace, url=service.url("/bomb?q=") + bomb)
    (reply,) = chat(security_server, bot, "hello")
    assert said(reply) == "That did not work."
    (result,) = tool_results(bot)
    assert result.startswith("The request of call could not be filled in: ") and (
        any(words in result for words in ("limit", "at most", "longer than", "more than", "larger than"))
    ), result
    assert service.hits("/bomb") == []


def test_a_template_bomb_in_a_message_leaves_the_server_answering(security_server, workspace):
    flows = "\n".join(
        f"        - {{id: m{i}, kind: message, text: {bomb!r}, next: m{i + 1}}}" for i, bomb in enumerate(BOMBS)
    )
    bot = publish(
        workspace,
        f"""
switchboard: 1
name: Bombs
slug: bombs
greeting: Hello!
flows:
  - name: main
    is_entry: true
    graph:
      entry: m0
      nodes:
{flows}
        - {{id: m{len(BOMBS)}, kind: message, text: "Still here, {{{{ slots.get('name', 'friend') }}}}."}}
""",
    )
    (reply,) = chat(security_server, bot, "hello")
    assert said(reply).endswith("Still here, friend.")
    assert "xxxxxxxxxx" not in said(reply) and len(said(reply)) < 2000
