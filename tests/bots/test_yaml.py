"""Bots as code: exact round trip, secrets by name only, failed imports change nothing."""

import logging

import pytest
import yaml

from bots import services
from bots.models import Bot, ChannelConnection, Flow, Prompt
from bots.yaml_io import ImportFailed, export_bot, import_bot
from knowledge.models import KnowledgeBase

pytestmark = pytest.mark.django_db


def table_counts():
    return (Bot.objects.count(), Flow.objects.count(), Prompt.objects.count(), ChannelConnection.objects.count())


def test_round_trip_is_exact_in_the_same_and_another_workspace(demo_bot, globex):
    text = export_bot(demo_bot)
    assert text.startswith("switchboard: 1\nname: Acme Support\n")
    again = import_bot(workspace=demo_bot.workspace, text=text)
    assert again.id == demo_bot.id  # same slug: the draft is replaced, not duplicated
    assert export_bot(again) == text

    KnowledgeBase.objects.create(workspace=globex, name="Acme Help Center")
    copy = import_bot(workspace=globex, text=text)
    assert copy.workspace == globex and copy.id != demo_bot.id
    assert export_bot(copy) == text
    version, _ = services.publish_bot(bot=copy, user=None)
    assert version.content_hash == demo_bot.versions.get().content_hash


def test_secrets_are_exported_as_names_only(demo_bot, caplog):
    services.set_secret(workspace=demo_bot.workspace, name="SHOP_KEY", value="sk-live-very-secret-123")
    demo_bot.tools.update(headers={"Authorization": "Bearer {{ secrets.SHOP_KEY }}"}, secrets=["SHOP_KEY"])
    channel = ChannelConnection(bot=demo_bot, kind="slack", settings={"team": "T1"})
    channel.credentials = {"bot_token": "xoxb-secret-token-456"}
    channel.save()
    with caplog.at_level(logging.DEBUG):
        text = export_bot(demo_bot)
    assert "sk-live-very-secret-123" not in text and "xoxb-secret-token-456" not in text
    assert "sk-live-very-secret-123" not in caplog.text and "xoxb" not in caplog.text
    doc = yaml.safe_load(text)
    assert doc["secrets"] == ["SHOP_KEY"]
    assert doc["channels"] == [{"kind": "slack", "settings": {"team": "T1"}}]
    # importing back keeps the stored credentials
    import_bot(workspace=demo_bot.workspace, text=text)
    assert demo_bot.channels.get().credentials == {"bot_token": "xoxb-secret-token-456"}


def test_importing_elsewhere_asks_for_the_secrets_by_name(demo_bot, globex):
    services.set_secret(workspace=demo_bot.workspace, name="SHOP_KEY", value="sk-live-very-secret-123")
    demo_bot.tools.update(headers={"Authorization": "Bearer {{ secrets.SHOP_KEY }}"}, secrets=["SHOP_KEY"])
    text = export_bot(demo_bot)
    KnowledgeBase.objects.create(workspace=globex, name="Acme Help Center")
    with pytest.raises(ImportFailed) as caught:
        import_bot(workspace=globex, text=text)
    assert [(e["path"], e["code"]) for e in caught.value.errors] == [("tools[0].secrets[0]", "secret.missing")]
    assert not Bot.objects.filter(workspace=globex).exists()
    services.set_secret(workspace=globex, name="SHOP_KEY", value="globex-own-key")
    assert import_bot(workspace=globex, text=text).tools.get().secrets == ["SHOP_KEY"]


def test_a_failed_import_reports_every_error_with_its_path_and_changes_nothing(demo_bot, globex):
    doc = yaml.safe_load(export_bot(demo_bot))
    doc["greeting"] = "Changed greeting"
    doc["flows"][0]["graph"]["nodes"][5]["next"] = "confirm_typo"
    doc["flows"][0]["graph"]["nodes"][10]["prompt"] = "no_such_prompt"
    doc["tools"][0]["parameters"] = {"type": "objekt"}
    before = table_counts()
    with pytest.raises(ImportFailed) as caught:
        import_bot(workspace=demo_bot.workspace, text=yaml.safe_dump(doc))
    paths = {(e["path"], e["code"]) for e in caught.value.errors}
    assert ("flows[0].graph.nodes[5].next", "node.unknown_target") in paths
    assert ("flows[0].graph.nodes[10].prompt", "prompt.missing") in paths
    assert ("tools[0].parameters", "tool.invalid_parameters") in paths
    assert table_counts() == before
    demo_bot.refresh_from_db()
    assert demo_bot.greeting != "Changed greeting"
    # another workspace without the knowledge base: the reference is reported, nothing created
    with pytest.raises(ImportFailed) as caught:
        import_bot(workspace=globex, text=export_bot(demo_bot))
    assert [(e["path"], e["code"]) for e in caught.value.errors] == [
        ("knowledge_bases[0]", "knowledge_base.missing"),
        ("flows[0].graph.nodes[10].knowledge_bases[0]", "knowledge_base.missing"),
    ]
    assert table_counts() == before


def test_shape_errors_carry_yaml_paths(acme):
    text = "switchboard: 1\nname: X\nslug: x\nflows:\n- name: Main\n  is_entry: true\n  graph:\n    entry: a\n    nodes:\n    - {id: a, kind: message}\n"
    with pytest.raises(ImportFailed) as caught:
        import_bot(workspace=acme, text=text)
    assert caught.value.errors == [
        {"path": "flows[0].graph.nodes[0].text", "code": "yaml.invalid", "message": "Field required."}
    ]
    with pytest.raises(ImportFailed) as caught:
        import_bot(workspace=acme, text="name: [unclosed")
    assert caught.value.errors[0]["code"] == "yaml.syntax"
    assert Bot.objects.filter(workspace=acme).count() == 0


def test_yaml_aliases_are_refused(acme):
    bomb = 'switchboard: 1\nname: &a ["x", "x"]\nslug: &b [*a, *a]\ngreeting: [*b, *b]\n'
    with pytest.raises(ImportFailed) as caught:
        import_bot(workspace=acme, text=bomb)
    assert caught.value.errors[0]["code"] == "yaml.syntax"
    assert "aliases" in caught.value.errors[0]["message"]


def test_barge_in_sensitivity_takes_its_earlier_name_and_refuses_an_unknown_one(demo_bot):
    doc = yaml.safe_load(export_bot(demo_bot))
    doc["voice"] = {"barge_in_sensitivity": "low"}  # what "tolerant" was called before
    bot = import_bot(workspace=demo_bot.workspace, text=yaml.safe_dump(doc))
    assert bot.voice["barge_in_sensitivity"] == "tolerant"
    assert yaml.safe_load(export_bot(bot))["voice"]["barge_in_sensitivity"] == "tolerant"

    doc["voice"] = {"barge_in_sensitivity": "sometimes"}
    with pytest.raises(ImportFailed) as caught:
        import_bot(workspace=demo_bot.workspace, text=yaml.safe_dump(doc))
    assert [e["path"] for e in caught.value.errors] == ["voice.barge_in_sensitivity"]
    demo_bot.refresh_from_db()
    assert demo_bot.voice["barge_in_sensitivity"] == "tolerant"  # the refused import changed nothing
