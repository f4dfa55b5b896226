"""The demo knowledge base, “Acme Help Center”, seeded by `make run` next to the demo bot."""

from django.db import transaction

from bots.models import Bot, Workspace
from knowledge import services
from knowledge.models import KnowledgeBase

NAME = "Acme Help Center"

ARTICLES = {
    "Shipping": """# Shipping

## Delivery times
Orders placed before 2 pm leave our warehouse the same working day. Standard delivery takes 2 to 4 working days; express delivery arrives the next working day and costs 9 euros.

## Where we ship
We ship to every country of the European Union, the United Kingdom, Switzerland and Norway. Standard shipping is free on orders over 50 euros.
""",
    "Returns and refunds": """# Returns and refunds

## Returning an item
You can return any unused item within 30 days of delivery. Start a return from your order page to print a prepaid label, then drop the parcel at any post office.

## Refunds
We refund the original payment method within 5 working days of the parcel reaching our warehouse. Shipping costs are refunded when the item was faulty.
""",
    "Warranty": """# Warranty

Every Acme appliance has a 2-year warranty against manufacturing defects, extended to 3 years when you register the product online.

## Making a claim
Keep your receipt and the serial number printed under the base. Contact support with both and a short description of the fault; we repair or replace the appliance free of charge.
""",
    "Opening hours": """# Opening hours

## Customer support
Support answers by chat and phone Monday to Friday from 9:00 to 18:00 and on Saturdays from 10:00 to 14:00 (Lisbon time).

## Flagship store
The Lisbon flagship store on Rua Augusta is open Monday to Saturday from 10:00 to 20:00 and closed on Sundays and public holidays.
""",
}


def seed_demo_knowledge(workspace: Workspace, bot: Bot) -> KnowledgeBase:
    """Create the help center once, attached to the demo bot; later runs leave people's edits alone.

    Articles are ingested here, synchronously, so the demo answers from its first second. With
    no OpenAI key configured the built-in model embeds them, so `make run` works offline.
    """
    with transaction.atomic():
        kb, _ = KnowledgeBase.objects.get_or_create(workspace=workspace, name=NAME)
        kb.bots.add(bot)
        existing = set(kb.documents.values_list("title", flat=True))
        for title, text in ARTICLES.items():
            if title not in existing:
                services.document_add_text(kb=kb, title=title, text=text, run_now=True)
    return kb
