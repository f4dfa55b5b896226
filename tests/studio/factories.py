"""Data for the studio tests: a workspace, a staff builder and a bot with parts to pick from."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from bots.models import Bot, Intent, Membership, Prompt, Tool, Workspace
from bots.services import create_flow

PASSWORD = "correct-horse-battery"


def make_builder(workspace: Workspace, username: str = "builder", *, staff: bool = True):
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=staff)
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.BUILDER)
    return user


def make_bot(workspace: Workspace | None = None, slug: str = "shop", graph: dict | None = None) -> Bot:
    workspace = workspace or Workspace.objects.create(name=f"WS {slug}", slug=f"ws-{slug}")
    bot = Bot.objects.create(workspace=workspace, name=slug.title(), slug=slug)
    Prompt.objects.create(bot=bot, name="support", system="You help customers of a shop.")
    Intent.objects.create(bot=bot, name="cancel", examples=["cancel my order", "I want to cancel"])
    Tool.objects.create(
        bot=bot,
        name="order_status",
        url="https://api.example.com/orders/{{ order_id }}",
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
    )
    create_flow(bot=bot, name="main", is_entry=True, graph=graph or {})
    return bot


# The flow the browser test builds by clicking, as the bots engineer's YAML import would read it.
EMAIL_FLOW = {
    "entry": "message_1",
    "nodes": [
        {"id": "message_1", "kind": "message", "text": "Hello! Let's get you signed up.", "next": "ask_1"},
        {
            "id": "ask_1",
            "kind": "ask",
            "slot": "email",
            "prompt": "What is your email?",
            "type": "email",
            "next": "branch_1",
        },
        {
            "id": "branch_1",
            "kind": "branch",
            "conditions": [{"when": '"example.com" in email', "next": "message_2"}],
        },
        {"id": "message_2", "kind": "message", "text": "Thanks {{ email }}, you are on the list."},
    ],
}
