"""Publish, rollback, the content hash, the diff and the cached published snapshot."""

import pytest
from django.core.cache import cache

from bots import selectors, services
from bots.diff import diff_snapshots
from bots.models import BotVersion
from bots.schema import BotSnapshot
from dialogue import nlu

pytestmark = pytest.mark.django_db


def test_seeding_publishes_version_1_with_a_trained_classifier(demo_bot):
    version = demo_bot.versions.get()
    assert (version.number, version.is_current, version.note) == (1, True, "Demo bot")
    assert nlu.load(bytes(version.nlu_model)).classify("where is my order")[0] == "order_status"
    assert BotSnapshot.model_validate(version.snapshot).name == "Acme Support"


def test_publishing_unchanged_definitions_creates_no_version(demo_bot, builder):
    version, created = services.publish_bot(bot=demo_bot, user=builder, note="again")
    assert not created and version.number == 1
    assert demo_bot.versions.count() == 1


def test_same_definitions_give_the_same_hash(demo_bot, builder):
    first = demo_bot.versions.get()
    demo_bot.greeting = "Hello there"
    demo_bot.save()
    second, created = services.publish_bot(bot=demo_bot, user=builder, note="new greeting")
    assert created and second.number == 2 and second.content_hash != first.content_hash
    demo_bot.greeting = BotSnapshot.model_validate(first.snapshot).greeting
    demo_bot.save()
    third, created = services.publish_bot(bot=demo_bot, user=builder, note="greeting back")
    assert created and third.content_hash == first.content_hash
    assert list(demo_bot.versions.filter(is_current=True)) == [third]


def test_an_invalid_draft_is_not_published(demo_bot, builder):
    flow = demo_bot.flows.get()
    graph = flow.graph
    graph["nodes"][1]["next"] = "lookup_typo"
    services.save_flow(flow=flow, revision=flow.revision, graph=graph)
    with pytest.raises(services.InvalidDefinition) as caught:
        services.publish_bot(bot=demo_bot, user=builder)
    problems = caught.value.problems
    assert problems[0].code == "node.unknown_target" and problems[0].node == "ask_order_id"
    assert {p.node for p in problems[1:] if p.code == "node.unreachable"} == {"lookup", "say_status", "lookup_failed"}
    assert demo_bot.versions.count() == 1


def test_rollback_publishes_the_old_snapshot_again_and_restores_the_draft(demo_bot, builder):
    v1 = demo_bot.versions.get()
    demo_bot.greeting = "Version two"
    demo_bot.save()
    demo_bot.prompts.update(system="Be terse.")
    services.publish_bot(bot=demo_bot, user=builder)
    v3, created = services.rollback_bot(bot=demo_bot, version=v1, user=builder)
    assert created and v3.number == 3 and v3.note == "Rolled back to version 1"
    assert v3.content_hash == v1.content_hash and v3.is_current
    demo_bot.refresh_from_db()
    assert demo_bot.greeting == BotSnapshot.model_validate(v1.snapshot).greeting
    assert demo_bot.prompts.get().system.startswith("You are Acme's")
    assert selectors.published_snapshot(demo_bot.id)[0].number == 3


def test_the_diff_reads_like_a_change_list(demo_bot, builder):
    v1 = demo_bot.versions.get()
    demo_bot.greeting = "Howdy"
    demo_bot.save()
    flow = demo_bot.flows.get()
    graph = flow.graph
    graph["nodes"][-2]["tools"] = []
    services.save_flow(flow=flow, revision=flow.revision, graph=graph)
    demo_bot.intents.filter(name="talk_to_human").delete()
    v2, _ = services.publish_bot(bot=demo_bot, user=builder)
    lines = [str(c) for c in diff_snapshots(v1.snapshot, v2.snapshot)]
    assert f"Bot settings › greeting: {v1.snapshot['greeting']} → Howdy" in lines
    assert 'Flow “Main” › step faq › tools: ["order_status"] → []' in lines
    assert "Intent “talk_to_human” removed" in lines


def test_published_snapshot_is_served_from_cache(demo_bot, builder, django_assert_num_queries):
    cache.delete(selectors.current_version_key(demo_bot.id))
    version, snapshot = selectors.published_snapshot(demo_bot.id)
    assert snapshot.greeting == demo_bot.greeting
    with django_assert_num_queries(0):
        again = selectors.published_snapshot(demo_bot.id)
    assert again[0].id == version.id


@pytest.mark.django_db(transaction=True)
def test_publishing_switches_the_cached_version(acme, builder):
    from bots.demo import seed_demo_bot

    bot = seed_demo_bot(acme, builder)
    assert selectors.published_snapshot(bot.id)[1].greeting == bot.greeting
    bot.greeting = "Fresh greeting"
    bot.save()
    services.publish_bot(bot=bot, user=builder)
    assert selectors.published_snapshot(bot.id)[1].greeting == "Fresh greeting"
    assert BotVersion.objects.filter(bot=bot).count() == 2


def test_an_unpublished_bot_has_no_snapshot(acme):
    from bots.models import Bot

    bot = Bot.objects.create(workspace=acme, name="Draft", slug="draft")
    with pytest.raises(selectors.NotPublished):
        selectors.published_snapshot(bot.id)


def test_channel_settings_are_published_without_credentials(demo_bot, builder):
    from bots.models import ChannelConnection

    channel = ChannelConnection(bot=demo_bot, kind="whatsapp", settings={"phone_number_id": "1055"})
    channel.credentials = {"access_token": "EAAG-secret-token"}
    channel.save()
    version, created = services.publish_bot(bot=demo_bot, user=builder, note="on WhatsApp")
    assert created
    assert version.snapshot["channels"] == [
        {"kind": "whatsapp", "settings": {"phone_number_id": "1055"}, "phone_number": "", "is_active": True}
    ]
    assert "EAAG-secret-token" not in str(version.snapshot)
