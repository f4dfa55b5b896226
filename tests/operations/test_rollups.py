"""Roll-ups of known conversations had over the chat API: containment, CSAT, intents, unanswered
questions and latency percentiles, then the dashboard and the export that read them."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from analytics import figures, rollups
from analytics.models import ALL_CHANNELS, ModelPrice, Rating, Rollup
from conversations.models import LlmCall
from tests.inbox.conftest import make_agent
from tests.operations.conftest import Person
from voice.selectors import Percentile

pytestmark = pytest.mark.django_db(transaction=True)


def test_percentiles_interpolate_between_ranks_like_postgres():
    assert figures.percentile([400, 100, 300, 200], 0.5) == 250
    assert figures.percentile([100, 200, 300, 400], 0.95) == pytest.approx(385)
    assert figures.percentile([7], 0.95) == 7
    assert figures.percentile([], 0.5) is None


def test_unanswered_questions_are_grouped_by_the_topic_they_share():
    questions = [
        {"text": "Do you ship to Canada?", "reason": "low_confidence"},
        {"text": "Shipping to Mexico, how long?", "reason": "low_confidence"},
        {"text": "Is there a student discount?", "reason": "no_knowledge"},
    ]
    groups = figures.group_questions(questions)
    assert [(g["topic"], g["count"]) for g in groups] == [("ship", 2), ("discount", 1)]
    assert groups[0]["examples"] == ["Do you ship to Canada?", "Shipping to Mexico, how long?"]


def _converse(base, bot) -> list[Person]:
    """Four people: a refund (contained), a person asked for (handed off), two shipping questions
    no intent covers (unanswered); three of them rate the conversation."""
    people = [Person(base, bot) for _ in range(4)]
    refund, human, canada, mexico = people
    refund.say("I would like a refund for my order")
    human.say("I want to talk to a person")
    canada.say("Shipping to Canada costs?")
    mexico.say("Is shipping to Mexico free?")
    canada.say("when are you open")
    assert refund.rate(score=5).status_code == 200
    assert human.rate(thumbs="down").status_code == 200
    assert canada.rate(score=4).status_code == 200
    return people


def test_rollups_count_containment_csat_intents_and_exact_percentiles(asgi_server, bot, fake_openai):
    people = _converse(asgi_server, bot)
    try:
        rollups.compute_recent()
    finally:
        for p in people:
            p.close()

    day = Rollup.objects.get(bot=bot, period="day", channel=ALL_CHANNELS)
    assert (day.conversations, day.handed_off, day.contained) == (4, 1, 3)
    assert (day.ratings, day.rating_sum, day.satisfied) == (3, 5 + 1 + 4, 2)
    assert day.intents == {"refund": 1, "opening_hours": 1}
    assert sorted((q["text"], q["reason"]) for q in day.questions) == [
        ("Is shipping to Mexico free?", "low_confidence"),
        ("Shipping to Canada costs?", "low_confidence"),
    ]
    assert (day.turns, day.unanswered, day.errors) == (5, 2, 0)
    assert Rollup.objects.filter(bot=bot, period="day", channel="api").get().conversations == 4
    assert Rollup.objects.filter(bot=bot, period="hour", channel=ALL_CHANNELS).get().conversations == 4

    # Exact: the roll-up's figures are PostgreSQL's percentile_cont over the same LLM calls.
    calls = LlmCall.objects.filter(conversation__bot=bot, purpose="reply", outcome="ok")
    expected = calls.aggregate(p50=Percentile("ttft_ms", 0.5), p95=Percentile("ttft_ms", 0.95))
    llm = day.latency["llm_first_token"]
    assert llm["n"] == calls.count() == day.turns - 1  # the handoff turn asked no LLM
    assert llm["p50"] == round(expected["p50"], 2) and llm["p95"] == round(expected["p95"], 2)
    tokens = day.tokens["gpt-4o-mini"]
    every_call = LlmCall.objects.filter(conversation__bot=bot)  # the handoff's summary costs tokens too
    assert tokens["calls"] == every_call.count() == calls.count() + 1
    assert tokens["input"] == sum(c.input_tokens for c in every_call) > 0

    # Running beat's job again changes nothing.
    rollups.compute_recent()
    assert Rollup.objects.filter(bot=bot).count() == 4


def test_a_rating_out_of_range_is_refused_and_changes_nothing(asgi_server, bot):
    person, stranger = Person(asgi_server, bot), Person(asgi_server, bot)
    try:
        for body in ({"score": 7}, {"thumbs": "sideways"}, {}, {"score": 3, "thumbs": "up"}):
            response = person.rate(**body)
            assert response.status_code == 422, body
            assert response.json()["error"]["message"]
        forged = person.client.post(
            f"/api/v1/chat/conversations/{stranger.id}/rating", json={"score": 1}, headers=person.headers()
        )
        assert forged.status_code == 404
        assert not Rating.objects.exists()
        assert person.rate(score=2).status_code == 200
        assert person.rate(thumbs="up").json() == {"conversation_id": person.id, "score": 5, "source": "thumbs"}
        assert list(Rating.objects.values_list("score", flat=True)) == [5]
    finally:
        person.close()
        stranger.close()


def test_dashboard_and_export_show_the_rolled_up_figures(asgi_server, bot, fake_openai):
    people = _converse(asgi_server, bot)
    people[2].say("my email is jane.doe@example.com")
    for p in people:
        p.close()
    rollups.compute_recent()
    ModelPrice.objects.create(
        workspace=bot.workspace, model="gpt-4o-mini", input_per_million=1000, output_per_million=2000
    )
    viewer = make_agent(bot.workspace, "viewer", role="viewer")
    outsider = make_agent(make_bot_workspace(), "outsider", role="owner")
    get_user_model().objects.filter(pk__in=[viewer.pk, outsider.pk]).update(is_staff=True)  # admin logins

    client = Client()
    client.force_login(viewer)
    page = client.get("/admin/analytics/dashboard/", {"bot": bot.pk, "days": 7})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="containment">75.0%' in html and 'id="handoff-rate">25.0%' in html
    assert 'id="csat">66.7%' in html and "ship" in html and "Shipping to Canada costs?" in html
    assert "Objective (3000 ms)" in html  # the chat first-token objective drawn on its chart
    day = Rollup.objects.get(bot=bot, period="day", channel=ALL_CHANNELS)
    tin = sum(t["input"] for t in day.tokens.values())
    tout = sum(t["output"] for t in day.tokens.values())
    assert f'id="cost-total">{round((tin * 1000 + tout * 2000) / 1_000_000, 4)}' in html

    export = client.get("/admin/analytics/dashboard/export/", {"bot": bot.pk, "days": 7})
    lines = [json.loads(line) for line in b"".join(export.streaming_content).decode().splitlines()]
    assert export["Content-Type"] == "application/x-ndjson" and len(lines) == 4
    assert [line["rating"] for line in lines] == [5, 1, 4, None]
    assert [line["handed_off"] for line in lines] == [False, True, False, False]
    text = json.dumps(lines)
    assert "jane.doe@example.com" not in text and "my email is" in text
    assert all("contact_id" not in line for line in lines)

    client.force_login(outsider)  # owner of another workspace: sees its own, never this bot's figures
    other = client.get("/admin/analytics/dashboard/", {"workspace": bot.workspace_id, "bot": bot.pk}).content.decode()
    assert "Help Bot" not in other and 'id="conversations">0<' in other
    leaked = client.get("/admin/analytics/dashboard/export/", {"workspace": bot.workspace_id, "bot": bot.pk})
    assert b"".join(leaked.streaming_content) == b""


def make_bot_workspace():
    from bots.models import Workspace

    return Workspace.objects.create(name="Other", slug="other")
