"""The admin: workspace isolation everywhere, roles, validation on save, publish and rollback."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from bots import services
from bots.models import ApiKey, Bot, BotVersion, ChannelConnection, Flow, Membership, Secret, Workspace
from tests.bots.conftest import make_user

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def theirs(globex, outsider):
    """Another workspace's bot, with a flow, a version, a channel, a secret and an API key."""
    from bots.demo import seed_demo_bot

    bot = seed_demo_bot(globex, outsider)
    ChannelConnection.objects.create(bot=bot, kind="web")
    services.set_secret(workspace=globex, name="GLOBEX_KEY", value="globex-secret-value")
    services.create_api_key(workspace=globex, name="globex ci", scopes=["bots:read"])
    return bot


MODELS = ["workspace", "bot", "flow", "botversion", "channelconnection", "secret", "apikey"]


def objects_of(bot):
    return {
        "workspace": bot.workspace,
        "bot": bot,
        "flow": bot.flows.get(),
        "botversion": bot.versions.get(),
        "channelconnection": bot.channels.get(),
        "secret": Secret.objects.get(workspace=bot.workspace),
        "apikey": ApiKey.objects.get(workspace=bot.workspace),
    }


def test_the_index_explains_itself(demo_bot, builder):
    page = logged_in(builder).get("/admin/")
    assert page.status_code == 200
    assert b"Welcome to Switchboard" in page.content and b"Publish" in page.content


@pytest.mark.parametrize("model", MODELS)
def test_change_lists_and_views_hide_other_workspaces(model, demo_bot, theirs, acme):
    owner = make_user(acme, Membership.Role.OWNER, "own")
    ChannelConnection.objects.create(bot=demo_bot, kind="web")
    services.set_secret(workspace=acme, name="ACME_KEY", value="acme-secret-value")
    services.create_api_key(workspace=acme, name="acme ci", scopes=["bots:read"])
    client = logged_in(owner)
    mine, foreign = objects_of(demo_bot)[model], objects_of(theirs)[model]
    listing = client.get(reverse(f"admin:bots_{model}_changelist"))
    assert listing.status_code == 200
    assert f"/{mine.pk}/change/".encode() in listing.content
    assert f"/{foreign.pk}/change/".encode() not in listing.content
    assert client.get(reverse(f"admin:bots_{model}_change", args=[mine.pk])).status_code == 200
    for pk in (foreign.pk, 987654):  # another workspace's id, a guessed id
        response = client.get(reverse(f"admin:bots_{model}_change", args=[pk]))
        assert response.status_code in (302, 404)
        assert str(foreign).encode() not in response.content
    searched = client.get(reverse(f"admin:bots_{model}_changelist") + f"?q={theirs.workspace.slug}")
    assert b"globex-secret" not in searched.content and b"GLOBEX_KEY" not in searched.content


def test_autocomplete_and_related_choices_offer_only_own_bots(demo_bot, theirs, builder):
    client = logged_in(builder)
    found = client.get(
        "/admin/autocomplete/", {"app_label": "bots", "model_name": "flow", "field_name": "bot", "term": "Acme"}
    )
    assert found.status_code == 200
    assert [r["id"] for r in found.json()["results"]] == [str(demo_bot.pk)]
    add_channel = client.get(reverse("admin:bots_flow_add")).content.decode()
    assert f'value="{theirs.pk}"' not in add_channel
    add_bot = client.get(reverse("admin:bots_bot_add")).content.decode()
    assert "Globex" not in add_bot and "Acme" in add_bot
    # posting another workspace's bot as the related object is refused
    response = client.post(
        reverse("admin:bots_flow_add"),
        {
            "bot": theirs.pk,
            "name": "Sneaky",
            "graph": json.dumps({"entry": "a", "nodes": [{"id": "a", "kind": "end"}]}),
        },
    )
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not Flow.objects.filter(name="Sneaky").exists()


def test_list_filters_offer_only_own_objects(demo_bot, theirs, builder, acme):
    sales = Bot.objects.create(workspace=acme, name="Acme Sales", slug="sales")
    BotVersion.objects.create(bot=sales, number=1, snapshot={}, content_hash="0" * 64)
    listing = logged_in(builder).get(reverse("admin:bots_botversion_changelist")).content.decode()
    assert f"bot__id__exact={demo_bot.pk}" in listing and f"bot__id__exact={sales.pk}" in listing
    assert f"bot__id__exact={theirs.pk}" not in listing and "Globex" not in listing


def test_viewers_read_and_agents_see_no_bots(demo_bot, acme):
    viewer = logged_in(make_user(acme, Membership.Role.VIEWER, "vera"))
    assert viewer.get(reverse("admin:bots_bot_change", args=[demo_bot.pk])).status_code == 200
    viewer.post(reverse("admin:bots_bot_change", args=[demo_bot.pk]), {"name": "Renamed"})
    assert Bot.objects.get(pk=demo_bot.pk).name == "Acme Support"
    assert viewer.post(reverse("admin:bots_bot_publish_action", args=[demo_bot.pk])).status_code == 404
    assert viewer.get(reverse("admin:bots_secret_changelist")).status_code == 403
    agent = logged_in(make_user(acme, Membership.Role.AGENT, "ada"))
    assert agent.get(reverse("admin:bots_bot_changelist")).status_code == 403
    assert agent.get(reverse("admin:bots_bot_change", args=[demo_bot.pk])).status_code in (302, 403, 404)


def flow_post(flow, graph):
    return {
        "bot": flow.bot_id,
        "name": flow.name,
        "is_entry": "on",
        "trigger_intents": "",
        "trigger_keywords": "",
        "graph": json.dumps(graph),
        "revision_seen": flow.revision,
    }


def test_a_flow_with_a_broken_reference_is_not_saved_and_says_why(demo_bot, builder):
    client = logged_in(builder)
    flow = demo_bot.flows.get()
    graph = flow.graph
    graph["nodes"][5]["next"] = "confirm_typo"
    response = client.post(reverse("admin:bots_flow_change", args=[flow.pk]), flow_post(flow, graph))
    assert response.status_code == 200
    assert "step “ask_email” goes to “confirm_typo”" in response.content.decode()
    flow.refresh_from_db()
    assert flow.graph["nodes"][5]["next"] == "confirm_cancel" and flow.revision == 1
    graph["nodes"][5]["next"] = "confirm_cancel"
    graph["nodes"][5]["prompt"] = "What's the email on your order?"
    response = client.post(reverse("admin:bots_flow_change", args=[flow.pk]), flow_post(flow, graph))
    assert response.status_code == 302
    flow.refresh_from_db()
    assert flow.revision == 2 and flow.graph["nodes"][5]["prompt"] == "What's the email on your order?"


def test_a_stale_flow_form_is_refused(demo_bot, builder):
    client = logged_in(builder)
    flow = demo_bot.flows.get()
    stale = flow_post(flow, flow.graph)
    services.save_flow(flow=flow, revision=1, graph=flow.graph)
    response = client.post(reverse("admin:bots_flow_change", args=[flow.pk]), stale)
    assert "Someone saved this flow after you opened it" in response.content.decode()


def test_publish_and_rollback_buttons(demo_bot, builder):
    client = logged_in(builder)
    page = client.get(reverse("admin:bots_bot_change", args=[demo_bot.pk])).content.decode()
    assert "Publish" in page and "Version 1" in page and "ready to publish" in page
    demo_bot.greeting = "Howdy"
    demo_bot.save()
    confirm = client.get(reverse("admin:bots_bot_publish_action", args=[demo_bot.pk])).content.decode()
    assert "Bot settings › greeting" in confirm and "Howdy" in confirm
    done = client.post(reverse("admin:bots_bot_publish_action", args=[demo_bot.pk]), {"note": "friendlier"})
    assert done.status_code == 302
    assert demo_bot.versions.get(is_current=True).note == "friendlier"
    v1 = demo_bot.versions.get(number=1)
    diff = client.get(reverse("admin:bots_botversion_change", args=[demo_bot.versions.get(number=2).pk]))
    assert "Changes from version 1 to version 2" in diff.content.decode()
    client.post(reverse("admin:bots_botversion_rollback_action", args=[v1.pk]))
    current = demo_bot.versions.get(is_current=True)
    assert current.number == 3 and current.content_hash == v1.content_hash


def test_secrets_are_write_only_in_the_admin(demo_bot, acme):
    owner = logged_in(make_user(acme, Membership.Role.OWNER, "olga"))
    response = owner.post(
        reverse("admin:bots_secret_add"),
        {
            "workspace": acme.pk,
            "name": "SHOP_KEY",
            "value": "sk-live-abcdef123456",
            "allowed_hosts": "api.shop.example",
        },
    )
    assert response.status_code == 302
    secret = Secret.objects.get(name="SHOP_KEY")
    assert secret.reveal() == "sk-live-abcdef123456" and "abcdef123456" not in secret.value_encrypted
    for url in (reverse("admin:bots_secret_changelist"), reverse("admin:bots_secret_change", args=[secret.pk])):
        assert b"abcdef123456" not in owner.get(url).content
    key_page = owner.post(
        reverse("admin:bots_apikey_add"), {"workspace": acme.pk, "name": "ci", "scopes": ["bots:read"]}, follow=True
    )
    assert b"it will not be shown again: sb_" in key_page.content
    key = ApiKey.objects.get(name="ci")
    assert b"it will not be shown again" not in owner.get(reverse("admin:bots_apikey_change", args=[key.pk])).content


def test_saving_a_bot_with_problems_warns_but_keeps_the_draft(demo_bot, builder):
    demo_bot.prompts.all().delete()
    client = logged_in(builder)
    page = client.get(reverse("admin:bots_bot_change", args=[demo_bot.pk])).content.decode()
    assert "1 thing to fix before publishing" in page and "uses the prompt “support”" in page
    confirm = client.get(reverse("admin:bots_bot_publish_action", args=[demo_bot.pk])).content.decode()
    assert "publish-button" not in confirm and "uses the prompt “support”" in confirm
    client.post(reverse("admin:bots_bot_publish_action", args=[demo_bot.pk]), {"note": "try"})
    assert demo_bot.versions.count() == 1


def test_owners_manage_people_builders_only_read_the_workspace(demo_bot, acme, builder):
    page = logged_in(builder).get(reverse("admin:bots_workspace_change", args=[acme.pk]))
    assert page.status_code == 200 and b"People and their roles" in page.content
    owner = make_user(acme, Membership.Role.OWNER, "olga")
    client = logged_in(owner)
    form = {
        "name": "Acme Inc",
        "slug": "acme",
        "tool_allowed_hosts": "",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "2",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, m in enumerate(acme.memberships.order_by("pk")):
        form |= {f"memberships-{i}-id": m.pk, f"memberships-{i}-workspace": acme.pk, f"memberships-{i}-user": m.user_id}
        form[f"memberships-{i}-role"] = "viewer" if m.user == builder else m.role
    response = client.post(reverse("admin:bots_workspace_change", args=[acme.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Membership.objects.get(user=builder).role == "viewer"
    logged_in(builder).post(reverse("admin:bots_workspace_change", args=[acme.pk]), form | {"name": "Hijacked"})
    assert Workspace.objects.get(pk=acme.pk).name == "Acme Inc"


def test_superusers_see_every_workspace(demo_bot, theirs):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client = logged_in(root)
    listing = client.get(reverse("admin:bots_bot_changelist")).content.decode()
    assert f"/{demo_bot.pk}/change/" in listing and f"/{theirs.pk}/change/" in listing
    assert (
        client.get(reverse("admin:bots_secret_change", args=[Secret.objects.get(name="GLOBEX_KEY").pk])).status_code
        == 200
    )
    assert {b["id"] for b in client.get("/api/v1/bots").json()} == {demo_bot.pk, theirs.pk}
