"""The Zendesk connector: a handoff on the widget opens a ticket through Zendesk's API (the fake
speaks its shapes), resolving it in the inbox solves the ticket; 429 and 422 behave as Zendesk's do."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from bots.models import Membership
from conversations.models import Handoff
from inbox import services as inbox
from integrations.models import ZendeskConnection, ZendeskTicket
from tests.integrations.conftest import ZENDESK_EMAIL, ZENDESK_TOKEN, ask_for_a_person, run, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connection(bot):
    c = ZendeskConnection(
        workspace=bot.workspace,
        subdomain="acme",
        email=ZENDESK_EMAIL,
        events=["handoff.created", "handoff.assigned", "handoff.resolved"],
    )
    c.set_token(ZENDESK_TOKEN)
    c.save()
    return c


@pytest.fixture
def ana(bot):
    user = get_user_model().objects.create_user("ana", "ana@example.com", "pw-for-tests-1", first_name="Ana")
    Membership.objects.create(user=user, workspace=bot.workspace, role=Membership.Role.AGENT)
    return user


def ticket_row():
    return ZendeskTicket.objects.filter(ticket_id__isnull=False).first()


def test_a_handoff_opens_a_ticket_and_resolving_it_solves_it(live, bot, connection, fake_zendesk, ana):
    assert ZENDESK_TOKEN not in connection.token_encrypted
    run(ask_for_a_person(live, bot.public_key))
    row = wait_for(ticket_row, what="the ticket")
    handoff = Handoff.objects.get()
    ticket = fake_zendesk.tickets[row.ticket_id]
    assert ticket["subject"] == "Help Bot: a person is needed (support)"
    assert ticket["external_id"] == f"switchboard-handoff-{handoff.pk}"
    assert "switchboard_support" in ticket["tags"]
    body = ticket["comment"]["body"]
    assert handoff.summary in body and ticket["comment"]["public"] is False
    assert f"/admin/conversations/conversation/{handoff.conversation_id}/change/" in body
    assert "requester" not in ticket  # a widget visitor has no known e-mail

    inbox.claim(handoff=handoff, agent=ana)
    wait_for(lambda: len(fake_zendesk.tickets[row.ticket_id]["comments"]) == 2, what="the assignment note")
    inbox.resolve(handoff=Handoff.objects.get(), agent=ana)
    wait_for(lambda: fake_zendesk.tickets[row.ticket_id]["status"] == "solved", what="the solved ticket")
    comments = fake_zendesk.tickets[row.ticket_id]["comments"]
    assert comments[1]["body"] == "Ana took this conversation over in Switchboard."
    assert comments[2]["body"] == "Resolved in Switchboard by Ana."
    assert len(fake_zendesk.tickets) == 1


def test_zendesk_busy_is_retried_after_its_retry_after(live, bot, connection, fake_zendesk):
    fake_zendesk.busy(1, retry_after=1)
    run(ask_for_a_person(live, bot.public_key))
    row = wait_for(ticket_row, what="the ticket after a 429")
    assert [r["status"] for r in fake_zendesk.requests] == [429, 201]
    assert row.error == "" and len(fake_zendesk.tickets) == 1


def test_a_refusal_is_kept_on_the_ticket_row_and_not_retried(live, bot, connection, fake_zendesk):
    connection.email = "someone-else@acme.example"  # Zendesk refuses the credentials
    connection.save()
    run(ask_for_a_person(live, bot.public_key))
    row = wait_for(lambda: ZendeskTicket.objects.exclude(error="").first(), what="the error")
    assert row.ticket_id is None and row.error == "Zendesk answered 401: Couldn't authenticate you"
    assert len(fake_zendesk.requests) == 1


def test_events_not_chosen_do_nothing_in_zendesk(live, bot, connection, fake_zendesk, ana):
    connection.events = ["handoff.resolved"]
    connection.save()
    run(ask_for_a_person(live, bot.public_key))
    handoff = Handoff.objects.get()
    inbox.claim(handoff=handoff, agent=ana)
    inbox.resolve(handoff=Handoff.objects.get(), agent=ana)
    # The worker looked at the resolve (it notes the handoff) but has no ticket to solve.
    wait_for(lambda: ZendeskTicket.objects.filter(handoff=handoff).exists(), what="the sync")
    assert fake_zendesk.requests == []
