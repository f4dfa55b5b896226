"""Item: roles hold on every action, and state changes only on a POST with CSRF. Against the
running server with real sessions: a viewer trying the builder's buttons, and another site
making a builder's browser follow a link to the publish page or post to it."""

from __future__ import annotations

import re

import httpx
import pytest
from django.test import Client

from bots.models import Membership
from studio.models import BotTestCase
from tests.bots.conftest import make_user
from tests.studio.factories import EMAIL_FLOW, make_bot

pytestmark = pytest.mark.django_db(transaction=True)
ASKS_EMAIL = [{"user": "hi", "expect": {"node": "ask_1", "contains": ["email"]}}]


def browser_of(base: str, user) -> httpx.Client:
    """The person's logged-in browser: their session cookie on a real HTTP client."""
    django_client = Client()
    django_client.force_login(user)
    cookies = {"sessionid": django_client.cookies["sessionid"].value}
    return httpx.Client(base_url=base, cookies=cookies, timeout=30)


def csrf_of(browser: httpx.Client, page: str) -> str:
    html = browser.get(page).text
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.fixture
def shop(security_server):
    bot = make_bot(graph=EMAIL_FLOW)
    builder = make_user(bot.workspace, Membership.Role.BUILDER, "bea")
    viewer = make_user(bot.workspace, Membership.Role.VIEWER, "vic")
    with browser_of(security_server, builder) as browser:
        page = f"/studio/bots/{bot.id}/builder/"
        browser.get(page)
        made = browser.post(
            f"/studio/bots/{bot.id}/test-cases",
            json={"name": "Asks for the email", "steps": ASKS_EMAIL},
            headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": security_server + page},
        )
    assert made.status_code == 201, made.text
    return bot, builder, viewer


def never_run(bot) -> bool:
    return not BotTestCase.objects.filter(bot=bot, last_run_at__isnull=False).exists()


def test_a_viewer_cannot_run_test_cases_anywhere(security_server, shop):
    bot, _, viewer = shop
    case = BotTestCase.objects.get(bot=bot)
    with browser_of(security_server, viewer) as browser:
        changelist = "/admin/studio/bottestcase/"
        listed = browser.get(changelist)
        action = browser.post(
            changelist,
            data={
                "action": "run_cases",
                "_selected_action": [case.pk],
                "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
            },
        )
        studio = browser.post(f"/studio/bots/{bot.id}/test-cases/run", json={})
        publish = browser.post(f"/admin/bots/bot/{bot.id}/publish/", data={"run_tests": "1"})
    assert listed.status_code == 200 and "run_cases" not in listed.text
    assert action.status_code in (200, 302, 403)
    assert studio.status_code in (403, 404) and publish.status_code in (403, 404)
    assert never_run(bot)


def test_the_publish_page_runs_nothing_on_a_link_and_refuses_a_cross_site_post(security_server, shop):
    bot, builder, _ = shop
    page = f"/admin/bots/bot/{bot.id}/publish/"
    with browser_of(security_server, builder) as browser:
        shown = browser.get(page)
        assert shown.status_code == 200 and "Run the test cases on this draft" in shown.text
        assert never_run(bot)  # a link (or an <img src>) to the page changes nothing

        forged = browser.post(page, data={"run_tests": "1"})  # another site's form: no CSRF token
        assert forged.status_code == 403 and never_run(bot)
        forged_publish = browser.post(page, data={"note": "pwned"})
        assert forged_publish.status_code == 403 and not bot.versions.exists()

        ran = browser.post(page, data={"run_tests": "1", "csrfmiddlewaretoken": csrf_of(browser, page)})
    assert ran.status_code == 200 and "All 1 test cases pass on this draft." in ran.text
    assert not never_run(bot)
