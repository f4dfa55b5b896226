"""The chat API (`/api/v1/chat/`): the widget's config, and talking to a bot over HTTP —
the whole reply as JSON, or streamed as Server-Sent Events with the widget's frames."""

from __future__ import annotations

import json

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpResponse, StreamingHttpResponse
from ninja import Router

from bots.models import Bot
from bots.selectors import NotPublished, published_snapshot
from channels_app import protocol, ratelimit, services
from channels_app.callers import CHAT_AUTH, caller_bot, caller_conversation
from channels_app.origins import origin_allowed
from channels_app.schemas import ConversationIn, ConversationOut, MessageIn, ReplyOut, WidgetConfigOut
from channels_app.widget_strings import widget_strings
from config.api import ApiError, ErrorOut
from conversations.models import Conversation
from dialogue.events import Inbound

router = Router(tags=["chat"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut}
ERRORS_WITH_TURN = {**ERRORS, 503: ErrorOut}
# Errors a turn itself can end with: another request of the conversation holds it, or our bug.
TURN_ERROR_STATUS = {"busy": 409, "turn_failed": 503}
IDENTITY_REFUSED = (
    "contact_signature does not prove contact_id. Have your server sign the id with the web channel's "
    "identity secret (HMAC-SHA256, hex), or leave contact_id out for an anonymous chat."
)


@router.get("/widget/{public_key}", response={200: WidgetConfigOut, 404: ErrorOut}, auth=None)
def widget_config(request, response: HttpResponse, public_key: str):
    """What the widget shows before the first message: title, colours, avatar, corner, greeting and
    its own words in the bot's language. Public."""
    bot = Bot.objects.filter(public_key=public_key).first()
    if bot is None:
        raise Http404("No bot has this public key.")
    try:
        _, snapshot = published_snapshot(bot.id)
    except NotPublished:
        raise Http404("This bot has not been published yet.")
    origin = request.headers.get("Origin")
    if origin and origin_allowed(origin, snapshot.widget.allowed_origins):
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    widget = snapshot.widget
    return WidgetConfigOut(
        name=snapshot.name,
        title=widget.title,
        primary_color=widget.primary_color,
        text_color=widget.text_color,
        avatar_url=widget.avatar_url,
        launcher_position=widget.launcher_position,
        greeting=snapshot.greeting,
        language=snapshot.language,
        strings=widget_strings(snapshot.language),
    )


def _conversation_out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        token=services.token_for(conversation),
        bot_id=conversation.bot_id,
        channel=conversation.channel,
        status=conversation.status,
        started_at=conversation.started_at,
    )


@router.post("/conversations", response={201: ConversationOut, **ERRORS}, auth=CHAT_AUTH)
async def create_conversation(request, body: ConversationIn):
    """Start a conversation with a published bot. With `X-Bot-Key`, keep the returned token; a
    `contact_id` then needs the site's `contact_signature` (HMAC-SHA256 of the id, in hex, with the
    web channel's identity secret). A workspace API key is trusted with any `contact_id`."""
    bot = await sync_to_async(caller_bot)(request, body.bot_id)
    chat = await _chat(bot)
    contact = body.contact_id
    if isinstance(request.auth, Bot) and contact:
        contact = services.verified_contact(chat, body.contact_id, body.contact_signature)
        if not contact:
            raise ApiError(403, "identity_not_verified", IDENTITY_REFUSED)
    key = f"bot:{bot.id}" if isinstance(request.auth, Bot) else f"api-key:{request.auth.id}"
    wait = await services.wait_before_starting(chat, ip=_client_ip(request), key=key, contact_id=contact)
    if wait:
        raise ApiError(
            429, "rate_limited", protocol.ERRORS["too_many_conversations"], headers={"Retry-After": str(wait)}
        )
    conversation = await services.start_conversation(chat, channel="api", contact_id=contact)
    return 201, _conversation_out(conversation)


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


async def _chat(bot: Bot) -> services.Chat:
    chat = await services.open_web_chat(bot)
    if isinstance(chat, str):
        raise ApiError(409, chat, protocol.ERRORS[chat])
    return chat


async def _prepare_turn(request, conversation_id: int, body: MessageIn):
    """Checks shared by both ways of sending a message; returns what the turn needs."""
    if len(body.text) > protocol.MAX_TEXT_CHARS:
        raise ApiError(413, "message_too_long", protocol.ERRORS["message_too_long"])
    if not body.text.strip():
        raise ApiError(422, "invalid_input", "Send some text.")
    wait = await ratelimit.aretry_after(f"chat-ip:{_client_ip(request)}", limit=settings.CHAT_IP_MESSAGES_PER_MINUTE)
    if wait:
        raise ApiError(429, "rate_limited", protocol.ERRORS["rate_limited"], headers={"Retry-After": str(wait)})
    conversation = await sync_to_async(caller_conversation)(request, conversation_id, "conversations:write")
    chat = await _chat(await Bot.objects.aget(pk=conversation.bot_id))
    inbound = (
        Inbound(kind="button", text=body.text, payload=body.payload)
        if body.payload
        else Inbound(kind="text", text=body.text)
    )
    return chat, conversation, inbound


@router.post("/conversations/{conversation_id}/messages", response={200: ReplyOut, **ERRORS_WITH_TURN}, auth=CHAT_AUTH)
async def send_message(request, conversation_id: int, body: MessageIn):
    """Send a message and wait for the whole reply."""
    chat, conversation, inbound = await _prepare_turn(request, conversation_id, body)
    events = [f async for f in services.turn_frames(chat, conversation, inbound) if f["type"] != "text_delta"]
    failed = next((f for f in events if f["type"] == "error"), None)
    if failed is not None:  # the stream reports these in-band; a JSON caller gets the status
        raise ApiError(TURN_ERROR_STATUS[failed["code"]], failed["code"], failed["message"])
    said = [f for f in events if f["type"] == "message"]
    return ReplyOut(
        conversation_id=conversation.id,
        text="\n\n".join(f["text"] for f in said if f["text"]),
        buttons=said[-1]["buttons"] if said else [],
        citations=[c for f in said for c in f["citations"]],
        events=events,
    )


SSE_DOC = {
    "responses": {
        200: {
            "description": "`text/event-stream`: one JSON frame per `data:` line (text_delta, message, "
            "tool_started, tool_finished, handoff, end, error), always ending with a `done` frame.",
            "content": {
                "text/event-stream": {
                    "example": 'data: {"type": "text_delta", "text": "Your order"}\n\n'
                    'data: {"type": "message", "text": "Your order 1234 has shipped.", "buttons": [], '
                    '"citations": []}\n\ndata: {"type": "done", "last_message_id": 7}\n\n'
                }
            },
        }
    }
}


@router.post(
    "/conversations/{conversation_id}/messages/stream",
    response={**ERRORS},
    auth=CHAT_AUTH,
    openapi_extra=SSE_DOC,
)
async def stream_message(request, conversation_id: int, body: MessageIn):
    """Send a message and receive the reply as Server-Sent Events, token by token."""
    chat, conversation, inbound = await _prepare_turn(request, conversation_id, body)

    async def frames():
        async for frame in services.turn_frames(chat, conversation, inbound):
            yield _sse(frame)
        yield _sse(protocol.done(await services.last_message_id(conversation)))

    response = StreamingHttpResponse(frames(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold the stream back
    return response


def _sse(frame: dict) -> str:
    return f"data: {json.dumps(frame)}\n\n"
