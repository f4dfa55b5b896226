"""Resume tokens: what a widget keeps to come back to its conversation.

Conversation ids are sequential, so the id alone must never be enough to read a transcript
with a public key: the token is the id signed together with the bot's id.
"""

from __future__ import annotations

from django.core import signing

_SALT = "switchboard.chat.conversation"


def conversation_token(conversation_id: int, bot_id: int) -> str:
    return signing.Signer(salt=_SALT).sign_object([conversation_id, bot_id])


def read_token(token: str, bot_id: int) -> int | None:
    """The conversation id the token was issued for, if it is genuine and for this bot."""
    if not token:
        return None
    try:
        conversation_id, token_bot = signing.Signer(salt=_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return conversation_id if token_bot == bot_id else None
