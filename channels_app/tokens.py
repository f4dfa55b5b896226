"""Resume tokens: what a widget keeps to come back to its conversation.

Conversation ids are sequential, so the id alone must never be enough to read a transcript
with a public key: the token is the id signed together with the bot's id, and it expires after
`CHAT_TOKEN_TTL_S` (the widget is handed a fresh one each time it resumes), so a token copied out
of a browser does not open the conversation for ever.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_SALT = "switchboard.chat.conversation"


def conversation_token(conversation_id: int, bot_id: int) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object([conversation_id, bot_id])


def read_token(token: str, bot_id: int) -> int | None:
    """The conversation id the token was issued for, if it is genuine, unexpired and for this bot."""
    if not token:
        return None
    try:
        conversation_id, token_bot = signing.TimestampSigner(salt=_SALT).unsign_object(
            token, max_age=settings.CHAT_TOKEN_TTL_S
        )
    except (signing.BadSignature, ValueError, TypeError):  # SignatureExpired is a BadSignature
        return None
    return conversation_id if token_bot == bot_id else None
