"""`POST /api/v1/chat/conversations/{id}/rating`: the person rates the conversation (CSAT).

Same callers as the chat API: a bot's public key with the conversation's token, or a workspace
API key with `conversations:write`."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from ninja import Router, Schema

from analytics import services
from channels_app.callers import CHAT_AUTH, caller_conversation
from config.api import ApiError, ErrorOut

router = Router(tags=["chat"])


class RatingIn(Schema):
    score: int | None = None
    thumbs: str | None = None


class RatingOut(Schema):
    conversation_id: int
    score: int
    source: str


@router.post(
    "/conversations/{conversation_id}/rating",
    response={200: RatingOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=CHAT_AUTH,
)
async def rate_conversation(request, conversation_id: int, body: RatingIn):
    """Rate a conversation 1–5 (`score`) or with a thumb (`thumbs`: up or down); rating again replaces it."""
    try:
        score, source = services.rating_score(score=body.score, thumbs=body.thumbs)
    except ValueError as exc:
        raise ApiError(422, "invalid_input", str(exc))
    conversation = await sync_to_async(caller_conversation)(request, conversation_id, "conversations:write")
    rating = await sync_to_async(services.conversation_rate)(conversation=conversation, score=score, source=source)
    return RatingOut(conversation_id=conversation.pk, score=rating.score, source=rating.source)
