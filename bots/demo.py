"""The demo bot, “Acme Support”, seeded by `make run`."""

from bots.models import Bot, Workspace


def seed_demo_bot(workspace: Workspace) -> Bot:
    bot, _ = Bot.objects.get_or_create(
        workspace=workspace,
        slug="acme-support",
        defaults={"name": "Acme Support", "greeting": "Hi! I'm Acme's assistant. How can I help?"},
    )
    return bot
