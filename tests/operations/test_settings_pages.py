"""The analytics settings in the admin change what the dashboard shows: an owner's model prices turn
tokens into cost (a viewer may not change them), and a bot's objective moves its latency line."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from analytics import rollups
from analytics.models import ModelPrice
from bots.models import Membership
from tests.inbox.conftest import make_agent
from tests.operations.conftest import Person, make_bot

pytestmark = pytest.mark.django_db(transaction=True)


def login(bot, username: str, role) -> Client:
    user = make_agent(bot.workspace, username, role=role)
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def test_owners_price_models_and_objectives_move_the_dashboard(asgi_server, bot, fake_openai):
    person = Person(asgi_server, bot)
    person.say("Do you sell gift cards?")
    person.close()
    rollups.compute_recent()
    owner = login(bot, "olga", Membership.Role.OWNER)
    viewer = login(bot, "vic", Membership.Role.VIEWER)
    page = {"bot": bot.pk, "days": 7}

    before = owner.get("/admin/analytics/dashboard/", page).content.decode()
    assert "No price for gpt-4o-mini" in before and 'id="cost-total">0.0000<' in before

    price = {
        "workspace": bot.workspace_id,
        "model": "gpt-4o-mini",
        "input_per_million": "1000",
        "output_per_million": "0",
    }
    assert viewer.post("/admin/analytics/modelprice/add/", price).status_code == 403
    refused = owner.post("/admin/analytics/modelprice/add/", {**price, "input_per_million": "-1"})
    assert refused.status_code == 200 and not ModelPrice.objects.exists()
    assert owner.post("/admin/analytics/modelprice/add/", price).status_code == 302
    after = owner.get("/admin/analytics/dashboard/", page).content.decode()
    tokens = sum(t["input"] for t in bot.rollups.get(period="day", channel="*").tokens.values())
    assert "No price for" not in after and f'id="cost-total">{tokens / 1000:.4f}<' in after

    slo = {"bot": bot.pk, "chat_first_token_ms": "1500", "voice_turn_ms": "900"}
    assert owner.post("/admin/analytics/botslo/add/", slo).status_code == 302
    assert "Objective (1500 ms)" in owner.get("/admin/analytics/dashboard/", page).content.decode()


def test_prices_change_only_where_the_person_owns_the_workspace(bot):
    other = make_bot("globex", "Other Bot").workspace
    mine = ModelPrice.objects.create(
        workspace=bot.workspace, model="gpt-4o-mini", input_per_million=1, output_per_million=1
    )
    theirs = ModelPrice.objects.create(workspace=other, model="gpt-4o", input_per_million=5, output_per_million=15)
    owner = login(bot, "olga", Membership.Role.OWNER)
    Membership.objects.create(
        user=get_user_model().objects.get(username="olga"), workspace=other, role=Membership.Role.VIEWER
    )
    listing = owner.get("/admin/analytics/modelprice/").content.decode()
    assert "gpt-4o-mini" in listing and "gpt-4o<" in listing  # the viewer reads the other workspace's prices

    def edit(price, amount):
        rows = sorted([mine, theirs], key=lambda p: p.model)
        form = {"form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "_save": "Save"}
        for i, row in enumerate(rows):
            value = amount if row == price else row.input_per_million
            form |= {
                f"form-{i}-id": row.pk,
                f"form-{i}-input_per_million": value,
                f"form-{i}-output_per_million": row.output_per_million,
            }
        return owner.post("/admin/analytics/modelprice/", form)

    assert edit(theirs, "0").status_code == 403
    theirs.refresh_from_db()
    assert theirs.input_per_million == 5
    assert edit(mine, "2").status_code == 302
    mine.refresh_from_db()
    assert mine.input_per_million == 2
