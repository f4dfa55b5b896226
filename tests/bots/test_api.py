"""The management API: keys and scopes, flows with revisions, publish, isolation, one error shape."""

import json
import logging

import pytest
import yaml
from django.test import Client

from bots import services
from bots.models import ApiKey, Bot, ChannelConnection, Membership, Secret
from tests.bots.conftest import make_user

pytestmark = pytest.mark.django_db

ALL_SCOPES = ["bots:read", "bots:write", "bots:publish"]


def client_for(workspace, scopes=ALL_SCOPES) -> Client:
    _, raw = services.create_api_key(workspace=workspace, name="tests", scopes=scopes)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def call(client, method, url, body=None, **kw):
    data = json.dumps(body) if body is not None else None
    return getattr(client, method)(f"/api/v1{url}", data=data, content_type="application/json", **kw)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


@pytest.fixture
def api(demo_bot):
    return client_for(demo_bot.workspace)


def test_a_missing_or_revoked_key_is_refused(demo_bot):
    assert_error(call(Client(), "get", "/bots"), 401, "unauthorized")
    assert_error(call(Client(headers={"Authorization": "Bearer sb_nope"}), "get", "/bots"), 401, "unauthorized")
    key, raw = services.create_api_key(workspace=demo_bot.workspace, name="old", scopes=ALL_SCOPES)
    ApiKey.objects.filter(pk=key.pk).update(revoked=True)
    assert_error(call(Client(headers={"Authorization": f"Bearer {raw}"}), "get", "/bots"), 401, "unauthorized")


def test_keys_are_stored_hashed_and_scopes_limit_them(demo_bot):
    key, raw = services.create_api_key(workspace=demo_bot.workspace, name="ro", scopes=["bots:read"])
    assert raw not in (key.key_hash, key.prefix) and raw.startswith(key.prefix)
    reader = Client(headers={"Authorization": f"Bearer {raw}"})
    assert [b["name"] for b in call(reader, "get", "/bots").json()] == ["Acme Support"]
    assert call(reader, "patch", f"/bots/{demo_bot.id}", {"greeting": "x"}).status_code == 404
    assert call(reader, "post", f"/bots/{demo_bot.id}/publish", {}).status_code == 404
    demo_bot.refresh_from_db()
    assert demo_bot.greeting != "x"


def test_crud_of_a_bot_and_its_parts(api, acme):
    created = call(api, "post", "/bots", {"workspace_id": acme.id, "name": "Helper", "slug": "helper"})
    assert created.status_code == 201
    bot_id = created.json()["id"]
    assert created.json()["published_version"] is None
    assert_error(
        call(api, "post", "/bots", {"workspace_id": acme.id, "name": "Dup", "slug": "helper"}), 409, "conflict"
    )
    prompt = call(api, "post", f"/bots/{bot_id}/prompts", {"name": "main", "system": "Be kind."})
    assert prompt.status_code == 201
    updated = call(
        api, "put", f"/prompts/{prompt.json()['id']}", {"name": "main", "system": "Be brief.", "temperature": 0}
    )
    assert updated.json()["system"] == "Be brief." and updated.json()["temperature"] == 0
    err = assert_error(
        call(api, "post", f"/bots/{bot_id}/prompts", {"name": "x", "temperature": 9}), 422, "invalid_input"
    )
    assert {tuple(d["loc"])[-1] for d in err["details"]} >= {"system", "temperature"}
    assert call(api, "delete", f"/prompts/{prompt.json()['id']}").status_code == 204
    assert call(api, "get", f"/bots/{bot_id}/prompts").json() == []
    assert call(api, "delete", f"/bots/{bot_id}").status_code == 204
    assert not Bot.objects.filter(pk=bot_id).exists()


def test_flow_put_with_a_stale_revision_is_a_conflict(api, demo_bot):
    flow = demo_bot.flows.get()
    got = call(api, "get", f"/flows/{flow.id}").json()
    assert got["revision"] == 1 and got["problems"] == []
    graph = got["graph"]
    graph["nodes"][0]["label"] = "Route by intent"
    saved = call(api, "put", f"/flows/{flow.id}", {"revision": 1, "graph": graph})
    assert saved.status_code == 200 and saved.json()["revision"] == 2
    graph["nodes"][0]["label"] = "Someone else's edit"
    err = assert_error(call(api, "put", f"/flows/{flow.id}", {"revision": 1, "graph": graph}), 409, "stale_revision")
    assert err["details"] == {"current_revision": 2}
    flow.refresh_from_db()
    assert flow.graph["nodes"][0]["label"] == "Route by intent"


def test_flow_put_reports_problems_and_refuses_a_malformed_graph(api, demo_bot):
    flow = demo_bot.flows.get()
    graph = flow.graph
    graph["nodes"][1]["next"] = "nowhere"
    saved = call(api, "put", f"/flows/{flow.id}", {"revision": flow.revision, "graph": graph}).json()
    assert saved["problems"][0]["code"] == "node.unknown_target"
    assert saved["problems"][0]["node"] == "ask_order_id"
    bad = {"entry": "a", "nodes": [{"id": "a", "kind": "teleport"}]}
    err = assert_error(
        call(api, "put", f"/flows/{flow.id}", {"revision": saved["revision"], "graph": bad}), 422, "invalid_flow"
    )
    assert err["details"][0]["path"].startswith("nodes.0")
    flow.refresh_from_db()
    assert flow.revision == saved["revision"]


def test_validate_publish_versions_diff_and_rollback(api, demo_bot):
    assert call(api, "post", f"/bots/{demo_bot.id}/validate").json() == {"ok": True, "problems": []}
    unchanged = call(api, "post", f"/bots/{demo_bot.id}/publish", {"note": "nothing"})
    assert unchanged.status_code == 200 and unchanged.json()["created"] is False
    call(api, "patch", f"/bots/{demo_bot.id}", {"greeting": "Hey!"})
    published = call(api, "post", f"/bots/{demo_bot.id}/publish", {"note": "new greeting"})
    assert published.status_code == 201 and published.json()["number"] == 2
    versions = call(api, "get", f"/bots/{demo_bot.id}/versions").json()
    assert [(v["number"], v["is_current"], v["author"]) for v in versions] == [(2, True, None), (1, False, "bea")]
    diff = call(api, "get", f"/bots/{demo_bot.id}/diff?old=1&new=2").json()
    assert [d["where"] for d in diff] == ["Bot settings › greeting"] and diff[0]["after"] == "Hey!"
    rolled = call(api, "post", f"/bots/{demo_bot.id}/rollback", {"version_id": versions[1]["id"]})
    assert rolled.status_code == 201 and rolled.json()["note"] == "Rolled back to version 1"
    assert call(api, "get", f"/bots/{demo_bot.id}").json()["greeting"] != "Hey!"


def test_publishing_an_invalid_bot_lists_the_problems(api, demo_bot):
    demo_bot.prompts.all().delete()
    err = assert_error(call(api, "post", f"/bots/{demo_bot.id}/publish", {}), 422, "invalid_definition")
    assert err["details"][0]["code"] == "prompt.missing"
    assert demo_bot.versions.count() == 1


def test_a_voice_id_that_is_not_one_is_refused_with_the_way_to_fix_it(api, demo_bot):
    before = dict(demo_bot.voice)
    bad = "../../v1/user"
    patched = assert_error(
        call(api, "patch", f"/bots/{demo_bot.id}", {"voice": {"tts_voice": bad}}), 422, "invalid_input"
    )
    assert "is not an ElevenLabs voice id. Copy the voice's id" in json.dumps(patched, ensure_ascii=False)
    text = call(api, "get", f"/bots/{demo_bot.id}/export").content.decode()
    doc = yaml.safe_load(text)
    doc["voice"] = {**doc.get("voice", {}), "tts_fallback_voice": "voice?x=1"}
    imported = api.post(
        f"/api/v1/workspaces/{demo_bot.workspace_id}/import", data=yaml.safe_dump(doc), content_type="application/yaml"
    )
    (error,) = assert_error(imported, 422, "invalid_import")["details"]
    assert error["path"] == "voice.tts_fallback_voice"
    assert error["message"].startswith("“voice?x=1” is not an ElevenLabs voice id. Copy the voice's id")
    demo_bot.refresh_from_db()
    assert demo_bot.voice == before and demo_bot.versions.count() == 1


def test_export_and_import(api, demo_bot):
    exported = call(api, "get", f"/bots/{demo_bot.id}/export")
    assert exported["Content-Type"].startswith("application/yaml")
    text = exported.content.decode()
    imported = api.post(
        f"/api/v1/workspaces/{demo_bot.workspace_id}/import", data=text, content_type="application/yaml"
    )
    assert imported.status_code == 201 and imported.json()["id"] == demo_bot.id
    broken = text.replace("next: confirm_cancel", "next: confirm_typo")
    failed = api.post(
        f"/api/v1/workspaces/{demo_bot.workspace_id}/import", data=broken, content_type="application/yaml"
    )
    err = assert_error(failed, 422, "invalid_import")
    assert err["details"][0]["path"] == "flows[0].graph.nodes[5].next"


def test_secrets_never_appear_in_responses_or_logs(demo_bot, caplog):
    owner = make_user(demo_bot.workspace, Membership.Role.OWNER, "olga")
    client = Client()
    client.force_login(owner)
    url = f"/api/v1/workspaces/{demo_bot.workspace_id}/secrets"
    with caplog.at_level(logging.DEBUG):
        put = client.put(
            url,
            data={"name": "SHOP_KEY", "value": "sk-live-abcdef123456", "allowed_hosts": ["api.shop.example"]},
            content_type="application/json",
        )
        listed = client.get(url)
        channel = client.post(
            f"/api/v1/bots/{demo_bot.id}/channels",
            data={
                "kind": "slack",
                "settings": {"team_id": "T0001"},
                "credentials": {"bot_token": "xoxb-very-secret", "signing_secret": "signing-very-secret"},
            },
            content_type="application/json",
        )
        channels = client.get(f"/api/v1/bots/{demo_bot.id}/channels")
    assert put.status_code == 200 and put.json()["masked"] == "sk-••••••••56"
    for response in (put, listed, channel, channels):
        assert b"abcdef123456" not in response.content and b"very-secret" not in response.content
    assert channel.json()["has_credentials"] is True
    assert "abcdef123456" not in caplog.text and "xoxb-very-secret" not in caplog.text
    assert Secret.objects.get(name="SHOP_KEY").reveal() == "sk-live-abcdef123456"
    assert ChannelConnection.objects.get().credentials == {
        "bot_token": "xoxb-very-secret",
        "signing_secret": "signing-very-secret",
    }
    created = client.post(
        f"/api/v1/workspaces/{demo_bot.workspace_id}/api-keys",
        data={"name": "ci", "scopes": ["bots:read"]},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["key"].startswith("sb_")
    assert "key" not in client.get(f"/api/v1/workspaces/{demo_bot.workspace_id}/api-keys").json()[0]


def test_builders_cannot_manage_keys_or_secrets(demo_bot, builder):
    client = Client()
    client.force_login(builder)
    assert client.get(f"/api/v1/workspaces/{demo_bot.workspace_id}/secrets").status_code == 404
    api = client_for(demo_bot.workspace)
    assert call(api, "get", f"/workspaces/{demo_bot.workspace_id}/api-keys").status_code == 404


def _urls_of(bot):
    flow, prompt, tool = bot.flows.get(), bot.prompts.get(), bot.tools.get()
    intent, rule, version = bot.intents.first(), bot.escalation_rules.get(), bot.versions.get()
    channel = ChannelConnection.objects.create(bot=bot, kind="web")
    secret = services.set_secret(workspace=bot.workspace, name="K", value="v-secret-value")
    key, _ = services.create_api_key(workspace=bot.workspace, name="k", scopes=ALL_SCOPES)
    ws = bot.workspace_id
    return [
        ("get", f"/bots/{bot.id}"),
        ("patch", f"/bots/{bot.id}", {"greeting": "hijacked"}),
        ("delete", f"/bots/{bot.id}"),
        ("get", f"/bots/{bot.id}/flows"),
        ("get", f"/flows/{flow.id}"),
        ("put", f"/flows/{flow.id}", {"revision": flow.revision, "graph": {}}),
        ("delete", f"/flows/{flow.id}"),
        ("get", f"/prompts/{prompt.id}"),
        ("put", f"/prompts/{prompt.id}", {"name": "n", "system": "hijacked"}),
        ("delete", f"/tools/{tool.id}"),
        ("get", f"/intents/{intent.id}"),
        ("get", f"/escalation-rules/{rule.id}"),
        ("get", f"/bots/{bot.id}/channels"),
        ("put", f"/channels/{channel.id}", {"kind": "web"}),
        ("delete", f"/channels/{channel.id}"),
        ("get", f"/bots/{bot.id}/versions"),
        ("get", f"/versions/{version.id}/snapshot"),
        ("post", f"/bots/{bot.id}/validate"),
        ("post", f"/bots/{bot.id}/publish", {"note": "x"}),
        ("post", f"/bots/{bot.id}/rollback", {"version_id": version.id}),
        ("get", f"/bots/{bot.id}/export"),
        ("post", f"/workspaces/{ws}/import"),
        ("get", f"/workspaces/{ws}/api-keys"),
        ("delete", f"/workspaces/{ws}/api-keys/{key.id}"),
        ("get", f"/workspaces/{ws}/secrets"),
        ("delete", f"/workspaces/{ws}/secrets/{secret.id}"),
    ]


def test_another_workspace_gets_404_for_every_object(demo_bot, outsider, globex):
    intruders = [client_for(globex)]
    session = Client()
    session.force_login(outsider)
    intruders.append(session)
    urls = _urls_of(demo_bot)
    for intruder in intruders:
        assert [b["name"] for b in call(intruder, "get", "/bots").json()] == []
        assert demo_bot.workspace_id not in [w["id"] for w in call(intruder, "get", "/workspaces").json()]
        for method, url, *body in urls:
            response = call(intruder, method, url, *body)
            assert response.status_code == 404, (method, url, response.status_code)
            assert response.json()["error"]["code"] == "not_found"
    for method, url, *body in [
        ("get", "/bots/999999"),
        ("get", "/flows/999999"),
        ("put", "/prompts/999999", {"name": "n", "system": "s"}),
    ]:
        assert_error(call(intruders[0], method, url, *body), 404, "not_found")
    demo_bot.refresh_from_db()
    assert demo_bot.greeting != "hijacked" and demo_bot.versions.count() == 1
    assert demo_bot.prompts.get().system != "hijacked"
    assert demo_bot.flows.count() == 1 and Secret.objects.filter(workspace=demo_bot.workspace).count() == 1


def test_an_oversized_import_is_refused(api, demo_bot):
    big = "switchboard: 1\n# " + "x" * 1_000_001
    response = api.post(f"/api/v1/workspaces/{demo_bot.workspace_id}/import", data=big, content_type="application/yaml")
    assert_error(response, 413, "too_large")
