"""Conversations over the API (`/api/v1/conversations/`): a bot's conversations and a transcript."""

from __future__ import annotations

from ninja import Router
from ninja.pagination import paginate

from channels_app.callers import CHAT_AUTH, caller_conversation, caller_workspace_ids
from channels_app.schemas import ConversationSummaryOut, TranscriptOut
from config.api import ErrorOut, Pagination
from conversations import selectors

router = Router(tags=["conversations"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get("", response={200: list[ConversationSummaryOut], **ERRORS}, auth=CHAT_AUTH)
@paginate(Pagination)
def list_conversations(request, bot_id: int, q: str = ""):
    """A bot's conversations, newest first; `q` searches contacts, summaries and (redacted) messages.
    Needs a workspace API key with `conversations:read`."""
    workspace_ids = caller_workspace_ids(request, "conversations:read")
    return selectors.bot_conversations(workspace_ids=workspace_ids, bot_id=bot_id, query=q)


@router.get("/{conversation_id}", response={200: TranscriptOut, **ERRORS}, auth=CHAT_AUTH)
def read_transcript(request, conversation_id: int):
    """The transcript, as stored (personal data already redacted). With `X-Bot-Key`, send the
    conversation's token as `X-Conversation-Token`."""
    conversation = caller_conversation(request, conversation_id, "conversations:read")
    return TranscriptOut(
        **{f: getattr(conversation, f) for f in ConversationSummaryOut.model_fields},
        summary=conversation.summary,
        messages=selectors.transcript(conversation),
    )
