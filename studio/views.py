"""The studio pages and their small JSON endpoints. Staff only; every bot comes through
`bots.access` (another workspace's bot answers 404). Logic lives in services and selectors."""

from __future__ import annotations

import json
from functools import wraps

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bots.access import EDIT, access_bot
from conversations.models import Conversation
from studio import selectors, services, speech
from voice.tts import TtsFailed

MAX_TEXT = 2000


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


def _body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValueError("Send a JSON object.")
    return data


def studio_view(fn):
    """Staff with edit rights on the bot's workspace; the bot is passed instead of its id."""

    @wraps(fn)
    def view(request, bot_id, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path()) if request.method == "GET" else _error(401, "Log in.")
        if not user.is_staff:
            return _error(403, "Only staff members can use the studio.")
        try:
            return fn(request, access_bot(user, bot_id, EDIT), *args, **kwargs)
        except Http404:
            return _error(404, "No such bot.")
        except ValueError as exc:
            return _error(400, str(exc))

    return view


@require_GET
@studio_view
def builder(request, bot):
    data = selectors.builder_data(bot)
    data["urls"] = {
        "back": reverse("admin:bots_bot_change", args=[bot.id]),
        "flow": "/api/v1/flows/{flow}",
        "flows": f"/api/v1/bots/{bot.id}/flows",
        "publish": f"/api/v1/bots/{bot.id}/publish",
        "validate": reverse("studio:validate", args=[bot.id]),
        "consoleTurn": reverse("studio:console_turn", args=[bot.id]),
        "testCases": reverse("studio:test_cases", args=[bot.id]),
        "runTests": reverse("studio:run_tests", args=[bot.id]),
        "speech": reverse("studio:console_speech", args=[bot.id]) if settings.ELEVENLABS_API_KEY else None,
    }
    return render(request, "studio/builder.html", {"bot": bot, "data": data})


@require_POST
@studio_view
def validate(request, bot):
    body = _body(request)
    try:
        flow_id = int(body.get("flow"))
    except (TypeError, ValueError):
        raise ValueError("Say which flow (its id) the graph belongs to.")
    if not bot.flows.filter(pk=flow_id).exists():
        return _error(404, "This bot has no such flow.")
    return JsonResponse({"errors": selectors.validate_with_edit(bot, flow_id, body.get("graph") or {})})


@require_POST
@studio_view
def console_turn(request, bot):
    """One console turn. Sync view: Django runs it in a worker thread, and the engine's async
    turn runs to completion inside it, so the ORM and the event loop never block each other."""
    body = _body(request)
    text = str(body.get("text") or "").strip()
    if not text:
        raise ValueError("Type a message.")
    if len(text) > MAX_TEXT:
        raise ValueError(f"Messages are at most {MAX_TEXT} characters.")
    try:
        snapshot, version_id = services.snapshot_for(bot, body.get("version"))
    except LookupError as exc:
        return _error(404, str(exc))
    session = body.get("session")
    if session is None:
        conversation = services.start_console(bot=bot, version_id=version_id, user=request.user)
    else:
        conversation = Conversation.objects.filter(
            pk=session if str(session).isdigit() else 0, bot=bot, channel=services.CONSOLE_CHANNEL
        ).first()
        if conversation is None:
            return _error(404, "This console conversation is over. Restart the console.")
    result = services.console_turn(conversation=conversation, snapshot=snapshot, text=text)
    return JsonResponse({"session": conversation.id, **result.as_dict()})


@require_POST
@studio_view
def console_speech(request, bot):
    """The voice preview's audio: the text spoken with the draft's (or a version's) voice."""
    if not settings.ELEVENLABS_API_KEY:
        return _error(404, "Audio previews need a text-to-speech key (ELEVENLABS_API_KEY).")
    body = _body(request)
    text = str(body.get("text") or "").strip()
    if not text:
        raise ValueError("Send the text to speak.")
    if len(text) > speech.MAX_CHARS:
        raise ValueError(f"Previews are at most {speech.MAX_CHARS} characters.")
    try:
        snapshot, _ = services.snapshot_for(bot, body.get("version"))
    except LookupError as exc:
        return _error(404, str(exc))
    try:
        audio = async_to_sync(speech.preview_wav)(text, snapshot.voice)
    except TtsFailed:
        return _error(502, "The text-to-speech service did not answer. Try again in a moment.")
    return HttpResponse(audio, content_type="audio/wav")


@require_http_methods(["GET", "POST"])
@studio_view
def test_cases(request, bot):
    if request.method == "POST":
        body = _body(request)
        try:
            case = services.create_test_case(bot=bot, name=body.get("name"), steps=body.get("steps"), user=request.user)
        except services.InvalidTestCase as exc:
            return _error(422, str(exc))
        return JsonResponse({"id": case.id, "name": case.name}, status=201)
    cases = [
        {"id": c.id, "name": c.name, "steps": len(c.steps), "last_passed": c.last_passed}
        for c in selectors.test_cases_of(bot)
    ]
    return JsonResponse({"cases": cases})


@require_POST
@studio_view
def run_tests(request, bot):
    try:
        report = services.run_test_cases(bot=bot, version=_body(request).get("version"))
    except LookupError as exc:
        return _error(404, str(exc))
    return JsonResponse(report.as_dict())
