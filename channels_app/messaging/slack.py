"""Slack: signed Events API and interactivity webhooks in, the Web API (slack-sdk, async) out.

Direct messages are one conversation per DM channel; a mention in a channel is answered in its
thread, one conversation per thread. A reply appears as it is written: the first words are posted
at once and the message is then edited about once a second (Slack allows ~1 `chat.update` per
second per channel), never one message per token. Slack's chat streaming methods
(`chat.startStream`, in slack-sdk 3.47) are not used: they only post thread replies, so a DM
answer would turn into a thread under every question, and they need the recipient's user and team
outside DMs; `chat.postMessage` + `chat.update` work in every conversation and carry Block Kit.
"""

from __future__ import annotations

import logging
import re
import time

import aiohttp
from django.conf import settings
from django.http import JsonResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from channels_app.messaging import formatting
from channels_app.messaging import payload as read
from channels_app.messaging.base import Adapter, BadPayload, Incoming, Outgoing, SendError, register, webhook_url
from channels_app.models import ChannelThread
from dialogue.events import MessageDone, TextDelta

log = logging.getLogger(__name__)

UPDATE_INTERVAL_S = 1.0  # Slack's rate limit for chat.update is about one a second per channel
MAX_TEXT = 39_000  # a message's top-level text may hold 40,000 characters
MAX_SECTION = 3_000  # a section block's text may hold 3,000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_ACTIONS = 25
# Message subtypes that are still a person writing; every other subtype (bot_message, edits,
# deletions, joins) is not new input.
PERSON_SUBTYPES = {"file_share", "thread_broadcast"}
MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
TEAM_ID = re.compile(r"^[TE][A-Z0-9]{2,}$")
RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Errors a builder meets, in words that say what to do.
ERRORS = {
    "not_in_channel": "The Slack app is not a member of this channel: invite it with /invite @your-app.",
    "channel_not_found": "Slack cannot find this channel: invite the app to it, or check the channel id.",
    "is_archived": "The Slack channel is archived: unarchive it or talk to the bot elsewhere.",
    "invalid_auth": "Slack refused the bot token: paste the Bot User OAuth Token (xoxb-…) again.",
    "not_authed": "Slack received no bot token: add it to this channel's credentials.",
    "token_revoked": "The bot token was revoked: reinstall the app to your workspace and paste the new token.",
    "account_inactive": "The bot token belongs to a deactivated app or user: reinstall the app.",
    "missing_scope": "The Slack app lacks a permission: add the chat:write scope and reinstall it.",
    "msg_too_long": "The message is too long for Slack.",
    "invalid_blocks": "Slack refused the message's layout (Block Kit).",
    "message_not_found": "The message to update no longer exists in Slack (it may have been deleted).",
    "cant_update_message": "Slack does not allow the app to edit this message.",
    "restricted_action": "A Slack workspace setting prevents the app from posting in this channel.",
}
UNREACHABLE = (aiohttp.ClientError, OSError)  # OSError covers timeouts and refused connections
MEDIA_REPLY = "I can read text messages only. Please type your question."


def _client(connection) -> AsyncWebClient:
    # No SDK retries: the outbox retries with backoff and Retry-After, once.
    return AsyncWebClient(
        token=connection.credentials.get("bot_token", ""),
        base_url=settings.SLACK_API_URL,
        timeout=10,
        retry_handlers=[],
    )


def _team(connection) -> str:
    return connection.external_id or (connection.settings or {}).get("team_id", "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_mrkdwn(text: str) -> str:
    """The bot's markdown as Slack's mrkdwn: *bold*, _italic_, ~strike~, <url|text>, • bullets."""
    text = _escape(text)
    text = formatting._HEADING.sub(lambda m: f"\x00{m.group(1)}\x00", text)
    text = formatting._BULLET.sub(r"\1• ", text)
    # Bold becomes a placeholder first: Slack's bold is markdown's italic marker.
    text = formatting._BOLD.sub(lambda m: "\x00" + (m.group(1) or m.group(2)) + "\x00", text)
    text = formatting._ITALIC.sub(r"_\1_", text)
    text = formatting._STRIKE.sub(r"~\1~", text)
    text = formatting._LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", text)
    return text.replace("\x00", "*")


def _sources(citations: list[dict]) -> str:
    return "\n".join(
        f"[{c.get('index')}] "
        + (f"<{c['url']}|{_escape(c.get('title') or c['url'])}>" if c.get("url") else _escape(c.get("title", "")))
        for c in citations
    )


def _blocks(text: str, buttons: list[dict], citations: list[dict]) -> list[dict]:
    """Block Kit for a message with buttons or sources; plain messages need none."""
    if not buttons and not citations:
        return []
    text = text[:MAX_TEXT]  # at most 13 sections: with sources and buttons well under 50 blocks
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[i : i + MAX_SECTION]}}
        for i in range(0, len(text), MAX_SECTION)
    ]
    if citations:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _sources(citations)[:MAX_SECTION]}]})
    if buttons:
        elements = [
            {
                "type": "button",
                "action_id": f"choice-{i}",
                "text": {"type": "plain_text", "text": b["title"][:MAX_BUTTON_TEXT]},
                "value": (b.get("payload") or b["title"])[:MAX_BUTTON_VALUE],
            }
            for i, b in enumerate(buttons[:MAX_ACTIONS])
        ]
        blocks.append({"type": "actions", "block_id": "choices", "elements": elements})
    return blocks


def _send_error(exc: SlackApiError) -> SendError:
    response = exc.response  # the SDK's response, or aiohttp's own when the body was not JSON
    status = getattr(response, "status_code", None) or getattr(response, "status", 0)
    if status == 429:
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        retry_after = headers.get("retry-after", "")
        return SendError(
            "Slack is rate limiting this app.",
            permanent=False,
            retry_after=float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None,
        )
    if status >= 500:
        return SendError(f"Slack answered {status}.", permanent=False)
    data = getattr(response, "data", None)
    code = data.get("error", "") if isinstance(data, dict) else ""
    if code in RETRYABLE:
        return SendError(f"Slack had a temporary error ({code}).", permanent=False)
    return SendError(ERRORS.get(code, f"Slack refused the message ({code or status})."), permanent=True)


@register
class SlackAdapter(Adapter):
    kind = "slack"

    def webhook_urls(self, connection) -> dict[str, str]:
        return {
            "Event Subscriptions → Request URL": webhook_url(connection),
            "Interactivity & Shortcuts → Request URL": webhook_url(connection, "interactivity"),
        }

    def configure(self, connection) -> list[str]:
        creds = connection.credentials
        problems = []
        if not creds.get("bot_token", "").startswith("xoxb-"):
            problems.append(
                'Add credentials {"bot_token": "xoxb-…", "signing_secret": "…"}: the Bot User OAuth Token is '
                "on your Slack app's OAuth & Permissions page."
            )
        if not creds.get("signing_secret"):
            problems.append("Add the signing secret from your Slack app's Basic Information page to the credentials.")
        team = str((connection.settings or {}).get("team_id", "")).strip()
        if team and not TEAM_ID.match(team):
            problems.append("The team id looks like T0123ABCD: find it in Slack under the workspace's About page.")
        else:  # empty until the builder fills it: events from any team are taken meanwhile
            connection.external_id = team
        return problems

    def address_for(self, connection, recipient: str) -> dict:
        return {"channel": recipient}

    def handshake(self, request, connection):
        if request.method != "POST" or request.endpoint != "events":
            return None
        body = read.json_object(request.body)
        if read.text(body, "type") != "url_verification":
            return None
        # Only reached with a valid signature: an unsigned challenge answered would let anyone
        # register this URL for their own app.
        return JsonResponse({"challenge": read.text(body, "challenge")})

    def verify(self, request, connection) -> bool:
        secret = connection.credentials.get("signing_secret", "")
        if not secret.strip():
            return False
        try:
            # Also refuses timestamps more than 5 minutes away: a captured request cannot be replayed.
            return SignatureVerifier(secret).is_valid_request(request.body, request.headers)
        except (ValueError, TypeError):
            # ValueError: a timestamp that is not a number. TypeError: a non-ASCII signature (the SDK
            # compares str with hmac.compare_digest, which refuses non-ASCII str).
            return False

    def parse(self, request, connection) -> list[Incoming]:
        if request.endpoint == "interactivity":
            return self._parse_interaction(request, connection)
        body = read.json_object(request.body)
        if read.text(body, "type") != "event_callback":
            log.info("Slack %s callback ignored", read.text(body, "type"))
            return []
        event = read.obj(body, "event")
        if not event:
            raise BadPayload("An event_callback without an event.")
        team = read.text(body, "team_id")
        if _team(connection) and team != _team(connection):
            log.warning("Slack event for team %s reached the channel of team %s: ignored", team, _team(connection))
            return []
        authorizations = read.objects(body, "authorizations")
        bot_user = read.text(authorizations[0], "user_id") if authorizations else ""
        kind, subtype = read.text(event, "type"), read.text(event, "subtype")
        if (
            kind not in ("message", "app_mention")
            or event.get("bot_id")
            or (subtype and subtype not in PERSON_SUBTYPES)
        ):
            return []
        channel, ts, user = read.text(event, "channel"), read.text(event, "ts"), read.text(event, "user")
        if not (channel and ts and user):
            raise BadPayload("A message event needs channel, ts and user.")
        if user == bot_user:
            return []
        thread_ts = read.text(event, "thread_ts")
        if kind == "message" and read.text(event, "channel_type") == "im":
            key, address = channel, {"channel": channel}
        else:
            key, address = f"{channel}:{thread_ts or ts}", {"channel": channel, "thread_ts": thread_ts or ts}
            # In a channel the bot answers mentions, and replies in a thread it is already part of.
            if kind == "message" and not (
                thread_ts and ChannelThread.objects.filter(connection=connection, key=key).exists()
            ):
                return []
        said = _unescape(MENTION.sub("", read.text(event, "text"))).strip()
        return [
            Incoming(
                # A mention arrives as both app_mention and message, with different event ids:
                # the message's own (channel, ts) makes them one.
                event_id=f"{channel}:{ts}",
                thread_key=key,
                address=address,
                contact=f"slack:{team}:{user}",
                kind="media" if not said and subtype == "file_share" else "text",
                text=said,
            )
        ]

    def _parse_interaction(self, request, connection) -> list[Incoming]:
        data = read.json_object(request.POST.get("payload", ""), "The interactivity payload")
        if read.text(data, "type") != "block_actions":
            log.info("Slack %s interaction ignored", read.text(data, "type"))
            return []
        actions, message = read.objects(data, "actions"), read.obj(data, "message")
        channel = read.text(read.obj(data, "channel"), "id") or read.text(read.obj(data, "container"), "channel_id")
        user, team = read.text(read.obj(data, "user"), "id"), read.text(read.obj(data, "team"), "id")
        if not actions or not message:
            raise BadPayload("A block_actions payload needs actions and the message clicked.")
        if not channel or not user:
            raise BadPayload("A block_actions payload needs the channel and the user.")
        if _team(connection) and team != _team(connection):
            log.warning("Slack click for team %s reached the channel of team %s: ignored", team, _team(connection))
            return []
        action = actions[0]
        action_ts, clicked_ts = read.text(action, "action_ts"), read.text(message, "ts")
        if read.text(action, "type") != "button" or not action_ts or not clicked_ts:
            raise BadPayload("Only button clicks on a message are understood.")
        thread_ts = read.text(message, "thread_ts")
        key, address = (
            (f"{channel}:{thread_ts}", {"channel": channel, "thread_ts": thread_ts})
            if thread_ts
            else (channel, {"channel": channel})
        )
        return [
            Incoming(
                event_id=f"action:{user}:{action_ts}",
                thread_key=key,
                address=address,
                contact=f"slack:{team}:{user}",
                kind="button",
                text=read.text(read.obj(action, "text"), "text"),
                payload=read.text(action, "value"),
                # The clicked message is updated on the worker, before the turn: the webhook must answer in 3 s.
                media={
                    "clicked": {
                        "channel": channel,
                        "ts": clicked_ts,
                        "text": read.text(message, "text"),
                        "blocks": read.objects(message, "blocks"),
                    }
                },
            )
        ]

    async def prepare(self, connection, item: Incoming):
        if item.kind == "media":
            return Outgoing(text=MEDIA_REPLY)
        clicked = item.media.get("clicked")
        if clicked:
            kept = [b for b in clicked["blocks"] if b.get("type") != "actions"]
            chosen = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"✓ {_escape(item.text)}"}]}
            try:
                await _client(connection).chat_update(
                    channel=clicked["channel"], ts=clicked["ts"], text=clicked["text"], blocks=[*kept, chosen]
                )
            except (SlackApiError, *UNREACHABLE) as exc:
                # The choice still counts: only the old buttons stay visible.
                log.warning("could not update the clicked Slack message: %s", exc)
        return item.inbound()

    async def send(self, connection, address: dict, message: Outgoing) -> str:
        text = to_mrkdwn(message.text)
        blocks = _blocks(text, message.buttons, message.citations) or None
        client = _client(connection)
        try:
            if message.replace:
                response = await client.chat_update(
                    channel=address["channel"], ts=message.replace, text=text[:MAX_TEXT], blocks=blocks
                )
            else:
                response = await client.chat_postMessage(
                    channel=address["channel"],
                    thread_ts=address.get("thread_ts") or None,
                    text=text[:MAX_TEXT],
                    blocks=blocks,
                    unfurl_links=False,
                )
        except SlackApiError as exc:
            raise _send_error(exc) from exc
        except UNREACHABLE as exc:
            raise SendError(f"Slack could not be reached: {exc}", permanent=False) from exc
        return response["ts"]

    def streamer(self, connection, address: dict):
        return _Streamer(connection, address)


class _Streamer:
    """Shows a reply while it is written: posts the first words, then edits the message at most
    once per `UPDATE_INTERVAL_S`. The outbox sends the finished text (with buttons and sources)
    as a last edit of each posted message."""

    def __init__(self, connection, address: dict):
        self._client = _client(connection)
        self._address = address
        self.streamed: list[str] = []
        self._text = ""
        self._ts = ""
        self._failed = False
        self._last = 0.0

    async def on_event(self, event) -> None:
        if isinstance(event, TextDelta):
            self._text += event.text
            if self._failed or not self._text.strip():
                return
            if not self._ts:
                await self._call(self._post)
            elif time.monotonic() - self._last >= UPDATE_INTERVAL_S:
                await self._call(self._update)
        elif isinstance(event, MessageDone):
            # "" when nothing was posted: the outbox then posts the message itself (and records any error).
            self.streamed.append(self._ts)
            self._text, self._ts, self._failed = "", "", False

    async def _post(self) -> None:
        response = await self._client.chat_postMessage(
            channel=self._address["channel"],
            thread_ts=self._address.get("thread_ts") or None,
            text=to_mrkdwn(self._text)[:MAX_TEXT],
            unfurl_links=False,
        )
        self._ts = response["ts"]

    async def _update(self) -> None:
        await self._client.chat_update(
            channel=self._address["channel"], ts=self._ts, text=to_mrkdwn(self._text)[:MAX_TEXT]
        )

    async def _call(self, method) -> None:
        self._last = time.monotonic()
        try:
            await method()
        except (SlackApiError, *UNREACHABLE) as exc:
            # A failed first post leaves the message to the outbox, which retries and records errors;
            # a failed edit only delays what the person sees until the next one.
            log.info("streaming to Slack failed: %s", exc)
            self._failed = not self._ts
