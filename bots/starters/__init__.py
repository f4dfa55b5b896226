"""Ready-made bots a builder starts from ("New bot from template" in the admin): each is a YAML
document in this folder, imported like any exported bot, under the name the builder chooses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from django.utils.text import slugify

from bots.models import Bot, Workspace
from bots.yaml_io import import_bot

FOLDER = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Starter:
    key: str
    title: str
    description: str

    def text(self) -> str:
        return (FOLDER / f"{self.key}.yaml").read_text()


STARTERS = [
    Starter(
        "faq_handoff",
        "FAQ with handoff",
        "Answers questions from your documents and passes the chat to your team when asked or when stuck.",
    ),
    Starter(
        "order_status",
        "Order status",
        "Asks for the order number and looks it up with a tool; point the tool at your shop's address.",
    ),
    Starter(
        "appointment_booking",
        "Appointment booking",
        "Collects the service, day, name and email, confirms them and passes the booking to your team.",
    ),
    Starter(
        "phone_receptionist",
        "Phone receptionist",
        "Answers calls, handles simple questions and puts callers through to a person or to sales.",
    ),
]
BY_KEY = {s.key: s for s in STARTERS}


def create_bot_from_starter(*, workspace: Workspace, key: str, name: str) -> Bot:
    """A new draft bot from the starter `key`, named `name` (its short name made unique in the workspace)."""
    data = yaml.safe_load(BY_KEY[key].text())
    base = slugify(name)[:50] or key.replace("_", "-")
    slug, n = base, 1
    while Bot.objects.filter(workspace=workspace, slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    data.update(name=name, slug=slug)
    return import_bot(workspace=workspace, text=yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
