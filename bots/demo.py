"""The demo bot, “Acme Support”, seeded by `make run` (`manage.py seed_demo`).

Its entry flow routes on intent: order status (asks for the order number and calls the
built-in demo endpoint of `bots/demo_api.py`), cancellation (asks for and validates an email,
then confirms) and everything else, answered by the LLM over the “Acme Help Center”
knowledge base. Asking for a person escalates to the support queue.
"""

from django.conf import settings
from django.db import transaction

from bots import services
from bots.models import Bot, Workspace
from bots.schema import BotSnapshot
from knowledge.models import KnowledgeBase

KNOWLEDGE_BASE = "Acme Help Center"
# The demo workspace's tools may call this machine: the order endpoint is served by Switchboard itself.
DEMO_ALLOWED_HOSTS = ["localhost", "127.0.0.1"]

MAIN_FLOW = {
    "entry": "route",
    "nodes": [
        {
            "id": "route",
            "kind": "intent",
            "label": "What does the customer want?",
            "routes": [
                {"intent": "order_status", "next": "ask_order_id"},
                {"intent": "cancel_order", "next": "ask_email"},
            ],
            "fallback": "faq",
        },
        {
            "id": "ask_order_id",
            "kind": "ask",
            "slot": "order_id",
            "type": "digits",
            "remember": True,
            "prompt": "Sure! What's your order number? (Demo orders are 1001 to 1004.)",
            "reprompt": "An order number is just digits, like 1001. What's yours?",
            "next": "lookup",
            "on_failure": "faq",
        },
        {
            "id": "lookup",
            "kind": "tool",
            "tool": "order_status",
            "arguments": {"order_id": "{{ order_id }}"},
            "result_slot": "order",
            "next": "say_status",
            "on_error": "lookup_failed",
        },
        {
            "id": "say_status",
            "kind": "message",
            "text": "Order {{ order_id }} is {{ order.status }}{% if order.eta %} ({{ order.eta }}){% endif %}.",
        },
        {
            "id": "lookup_failed",
            "kind": "message",
            "text": "I couldn't find order {{ order_id }}. Please check the number and try again.",
        },
        {
            "id": "ask_email",
            "kind": "ask",
            "slot": "email",
            "type": "email",
            "prompt": "I can cancel that for you. What's the email address on the order?",
            "reprompt": "That doesn't look like an email address. Please type it like name@example.com.",
            "next": "confirm_cancel",
            "on_failure": "human",
        },
        {
            "id": "confirm_cancel",
            "kind": "ask",
            "slot": "confirm",
            "type": "choice",
            "choices": ["Yes, cancel it", "No, keep it"],
            "prompt": "Cancel the order for {{ email }}?",
            "next": "decide",
        },
        {
            "id": "decide",
            "kind": "branch",
            "conditions": [{"when": 'confirm == "Yes, cancel it"', "next": "cancelled"}],
            "else": "kept",
        },
        {
            "id": "cancelled",
            "kind": "message",
            "text": "Done: your order is cancelled. A confirmation is on its way to {{ email }}.",
        },
        {"id": "kept", "kind": "message", "text": "No problem, your order stays as it is."},
        {
            "id": "faq",
            "kind": "llm",
            "prompt": "support",
            "knowledge_bases": [KNOWLEDGE_BASE],
            "tools": ["order_status"],
        },
        {"id": "human", "kind": "handoff", "queue": "support"},
    ],
}


def definition(bot_id: int = 0) -> BotSnapshot:
    return BotSnapshot.model_validate(
        {
            "bot_id": bot_id,
            "name": "Acme Support",
            "slug": "acme-support",
            "greeting": "Hi! I'm Acme's assistant. I can check an order, cancel one, or answer questions.",
            "widget": {"title": "Acme Support", "primary_color": "#0f766e"},
            "flows": [{"name": "Main", "is_entry": True, "graph": MAIN_FLOW}],
            "prompts": [
                {
                    "name": "support",
                    "system": "You are Acme's friendly support assistant. Answer from the help center articles "
                    "you are given and cite them. If you do not know, say so and offer to connect a person. "
                    "Never invent order details: use the order_status tool.",
                }
            ],
            "tools": [
                {
                    "name": "order_status",
                    "description": "Look up the status and delivery estimate of an order by its number.",
                    "url": settings.PUBLIC_BASE_URL + "/demo-api/orders/{{ order_id }}",
                    "parameters": {
                        "type": "object",
                        "properties": {"order_id": {"type": "string", "description": "The order number, e.g. 1001"}},
                        "required": ["order_id"],
                    },
                    "timeout_s": 5,
                }
            ],
            "intents": [
                {
                    "name": "order_status",
                    "examples": [
                        "where is my order",
                        "track my package",
                        "has my order shipped",
                        "order status",
                        "when will my parcel arrive",
                    ],
                },
                {
                    "name": "cancel_order",
                    "examples": [
                        "cancel my order",
                        "I want to cancel",
                        "please cancel the order I placed",
                        "stop my order",
                        "I don't want it anymore",
                    ],
                },
                {
                    "name": "talk_to_human",
                    "examples": ["talk to a human", "speak to a person", "real agent please", "I want a human"],
                    "always_handoff": True,
                },
            ],
            "escalation_rules": [
                {
                    "name": "Asks for a person",
                    "trigger": "explicit_request",
                    "queue": "support",
                    "message": "Of course. I'm connecting you with a member of our team.",
                }
            ],
            "knowledge_bases": [{"id": 0, "name": KNOWLEDGE_BASE}],
        }
    )


def seed_demo_bot(workspace: Workspace, user=None) -> Bot:
    """Create and publish the demo bot once; later runs leave people's edits alone."""
    with transaction.atomic():
        if workspace.tool_allowed_hosts != DEMO_ALLOWED_HOSTS or not workspace.allow_private_networks:
            # Only these hosts, and private addresses allowed: this machine is the demo's order service.
            workspace.tool_allowed_hosts, workspace.allow_private_networks = DEMO_ALLOWED_HOSTS, True
            workspace.save(update_fields=["tool_allowed_hosts", "allow_private_networks"])
        KnowledgeBase.objects.get_or_create(workspace=workspace, name=KNOWLEDGE_BASE)
        bot = Bot.objects.filter(workspace=workspace, slug="acme-support").first()
        if bot is None:
            bot = services.apply_snapshot(bot=Bot(workspace=workspace), snapshot=definition())
    if not bot.versions.exists():
        services.publish_bot(bot=bot, user=user, note="Demo bot")
    return bot
