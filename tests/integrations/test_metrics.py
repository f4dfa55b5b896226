"""Handoff metrics: figures for handoffs the product made (widget conversations, an agent working
them through the inbox), checked against the rows' own timestamps, and the page in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from bots.models import Membership
from conversations.models import Handoff
from inbox import services as inbox
from integrations.metrics import handoff_metrics
from tests.chat.conftest import open_chat
from tests.integrations.conftest import ask_for_a_person, run

pytestmark = pytest.mark.django_db(transaction=True)


async def just_chat(base: str, public_key: str) -> None:
    async with open_chat(base, public_key) as chat:
        await chat.send(type="start")
        await chat.until("done")
        await chat.send(type="message", text="What are your opening hours?")
        await chat.until("done")


def seconds(start, end):
    return (end - start).total_seconds()


def test_rate_reply_and_resolution_times_per_queue_and_agent(live, bot):
    ana = get_user_model().objects.create_user("ana", "ana@example.com", "pw-for-tests-1", is_staff=True)
    Membership.objects.create(user=ana, workspace=bot.workspace, role=Membership.Role.OWNER)
    run(ask_for_a_person(live, bot.public_key))
    run(ask_for_a_person(live, bot.public_key))
    run(just_chat(live, bot.public_key))
    first, second = Handoff.objects.order_by("id")
    inbox.claim(handoff=first, agent=ana)
    inbox.reply(handoff=Handoff.objects.get(pk=first.pk), agent=ana, text="Hi, Ana here. How can I help?")
    inbox.resolve(handoff=Handoff.objects.get(pk=first.pk), agent=ana)
    first = Handoff.objects.get(pk=first.pk)

    figures = handoff_metrics(bot.workspace_id, 7)
    assert (figures["conversations"], figures["handed_off"]) == (3, 2)
    (queue,) = figures["by_queue"]
    assert queue["queue"] == "support" and queue["handoffs"] == 2
    # One handoff was answered and resolved: every percentile is its own figure; the waiting one is left out.
    reply = seconds(first.created_at, first.first_reply_at)
    assert queue["reply_after_handoff_p50"] == pytest.approx(reply)
    assert queue["reply_after_claim_p95"] == pytest.approx(seconds(first.assigned_at, first.first_reply_at))
    assert queue["resolution_p50"] == pytest.approx(seconds(first.created_at, first.closed_at))
    (agent,) = figures["by_agent"]
    assert agent["username"] == "ana" and agent["handoffs"] == 1
    assert figures["overall"]["reply_after_handoff_p95"] == pytest.approx(reply)

    client = Client()
    client.force_login(ana)
    index = client.get(reverse("admin:index"))
    page = reverse("admin:integrations_handoffmetrics_changelist")
    assert page in index.text  # reachable from the navigation
    r = client.get(page, {"workspace": bot.workspace_id, "days": 30})
    assert r.status_code == 200
    assert '<div class="text-2xl font-semibold" id="handoff-rate">67%</div>' in r.text
    assert "2 of 3 conversations handed to a person" in r.text
    assert 'data-name="support"' in r.text and 'data-name="ana"' in r.text
    assert 'class="chart"' in r.text  # unfold's Chart.js bar chart of reply times by queue


def test_other_workspaces_figures_are_not_shown(live, bot):
    outsider = get_user_model().objects.create_user("otto", "otto@example.com", "pw-for-tests-1", is_staff=True)
    client = Client()
    client.force_login(outsider)
    r = client.get(reverse("admin:integrations_handoffmetrics_changelist"), {"workspace": bot.workspace_id})
    assert r.status_code == 403
