"""Who is calling the chat and conversation APIs, and what they may reach.

Two kinds of caller: a workspace API key (`Authorization: Bearer`, scopes `conversations:read`
/ `conversations:write`) reaches every conversation of its workspace; a bot's public key
(`X-Bot-Key`, safe to ship in a web page) reaches only conversations it holds the token of.
Anything out of reach answers 404, like an id that does not exist.
"""

from __future__ import annotations

from django.http import Http404

from bots.access import BotKeyAuth, WorkspaceKeyAuth
from bots.models import Bot
from channels_app.tokens import read_token
from config.api import ApiError
from conversations import selectors
from conversations.models import Conversation

CHAT_AUTH = [WorkspaceKeyAuth(), BotKeyAuth()]
TOKEN_HEADER = "X-Conversation-Token"  # noqa: S105 — a header name, not a secret


def _require_scope(key, scope: str) -> None:
    if not key.has_scope(scope):
        raise ApiError(403, "forbidden", f"This API key lacks the {scope} scope.")


def caller_bot(request, bot_id: int | None) -> Bot:
    """The bot a new conversation is for."""
    if isinstance(request.auth, Bot):
        if bot_id not in (None, request.auth.id):
            raise Http404("No such bot.")
        return request.auth
    _require_scope(request.auth, "conversations:write")
    if bot_id is None:
        raise ApiError(422, "invalid_input", "Give bot_id: the bot to talk to.")
    bot = Bot.objects.select_related("workspace").filter(pk=bot_id, workspace_id=request.auth.workspace_id).first()
    if bot is None:
        raise Http404("No such bot.")
    return bot


def caller_workspace_ids(request, scope: str) -> list[int]:
    if isinstance(request.auth, Bot):
        raise ApiError(403, "forbidden", "Listing conversations needs a workspace API key, not a bot's public key.")
    _require_scope(request.auth, scope)
    return [request.auth.workspace_id]


def caller_conversation(request, conversation_id: int, scope: str) -> Conversation:
    if isinstance(request.auth, Bot):
        token = request.headers.get(TOKEN_HEADER, "")
        if read_token(token, request.auth.id) != conversation_id:
            raise Http404("No such conversation.")
        conversation = selectors.conversations_in([request.auth.workspace_id]).filter(pk=conversation_id).first()
    else:
        _require_scope(request.auth, scope)
        conversation = selectors.conversation_in(
            workspace_ids=[request.auth.workspace_id], conversation_id=conversation_id
        )
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation
