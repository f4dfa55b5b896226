"""Who a public chat is with, and whether the bot's website chat is switched on.

A bot's public key is in every page that embeds the widget, so a contact id sent by a browser
(or by any caller holding only that key) names a contact only when the site's own backend signed
it with the web connection's identity secret: the HMAC-SHA256 of the id, in hex. Anything else
is an anonymous visitor, who gets no contact's long-term memory and writes into none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from bots.models import ChannelConnection

SECRET_FIELD = "identity_secret"  # noqa: S105 — a field name, not a secret; in the web connection's encrypted credentials


def new_secret() -> str:
    return secrets.token_hex(32)


def sign(secret: str, contact_id: str) -> str:
    """What the site's backend computes for its logged-in user (shown in the connection's page)."""
    return hmac.new(secret.encode(), contact_id.encode(), hashlib.sha256).hexdigest()


def verified_contact(secret: str, contact_id: str, signature: str) -> str:
    """`contact_id` when `signature` proves it, else "" (anonymous)."""
    if not (secret and contact_id and signature):
        return ""
    return contact_id if hmac.compare_digest(sign(secret, contact_id), signature.strip().lower()) else ""


@dataclass(frozen=True)
class WebAccess:
    switched_on: bool
    identity_secret: str


async def web_access(bot_id: int) -> WebAccess:
    """The bot's website chat connection as the admin set it now (not as published): a bot without
    one is open to the widget and knows no contacts; a switched-off one refuses every chat."""
    connection = (
        await ChannelConnection.objects.filter(bot_id=bot_id, kind=ChannelConnection.Kind.WEB)
        .only("is_active", "credentials_encrypted")
        .order_by("id")
        .afirst()
    )
    if connection is None:
        return WebAccess(switched_on=True, identity_secret="")
    return WebAccess(switched_on=connection.is_active, identity_secret=connection.credentials.get(SECRET_FIELD, ""))
