"""Twilio's webhooks: every request is signed (X-Twilio-Signature over our public URL) or refused."""

from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from channels_app.messaging import payload as read
from channels_app.messaging.base import BadPayload
from voice import services, twiml
from voice.models import Call

log = logging.getLogger(__name__)


def twilio_signed(view):
    """403 unless the request carries Twilio's signature of our public URL and its parameters.

    Behind a proxy `request.build_absolute_uri()` is the internal address, so the URL Twilio
    signed is rebuilt from PUBLIC_BASE_URL.
    """

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        url = settings.PUBLIC_BASE_URL + request.get_full_path()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not settings.TWILIO_AUTH_TOKEN or not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
            url, request.POST, signature
        ):
            log.warning("refused a Twilio webhook with a bad signature")
            return HttpResponseForbidden("Bad or missing X-Twilio-Signature.")
        return view(request, *args, **kwargs)

    return wrapper


def _twiml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml")


@twilio_signed
def incoming(request):
    call_sid = request.POST.get("CallSid", "")
    if not call_sid.startswith("CA"):
        return HttpResponse("CallSid is missing or malformed.", status=400)
    try:
        call, token = services.call_answer(
            call_sid=call_sid, caller=request.POST.get("From", ""), dialled=request.POST.get("To", "")
        )
    except services.NoBotForNumber:
        log.warning("call to a number no published bot answers")
        return _twiml(twiml.unavailable("Sorry, this number is not in service. Goodbye."))
    return _twiml(twiml.connect_stream(token=token, call_id=call.id, bot_id=call.bot_id))


@twilio_signed
def status(request):
    form = request.POST
    try:
        services.call_status(
            call_sid=read.text(form, "CallSid"),
            # The call's own callback sends CallStatus; the <Stream statusCallback> sends StreamEvent.
            status=read.text(form, "CallStatus") or read.text(form, "StreamEvent"),
            duration=read.whole_number(form, "CallDuration"),
        )
    except (BadPayload, services.BadStatusCallback) as exc:
        log.warning("refused a malformed Twilio status callback: %s", exc)
        return HttpResponse(f"Malformed callback: {exc}", status=400)
    return HttpResponse(status=204)


@twilio_signed
def whisper(request, call_id: int):
    """Runs on the person's leg after they answer, before the caller is bridged."""
    call = Call.objects.filter(pk=call_id, call_sid=request.POST.get("ParentCallSid", "")).first()
    if call is None:
        return HttpResponse("Unknown call.", status=404)
    return _twiml(twiml.whisper(call.whisper))


@twilio_signed
def dial_done(request, call_id: int):
    """`<Dial action>`: the transfer's leg ended. Unanswered, the caller hears the fallback and
    a callback to their number is queued in the inbox; answered, the call is over."""
    call = Call.objects.filter(pk=call_id, call_sid=request.POST.get("CallSid", "")).first()
    if call is None:
        return HttpResponse("Unknown call.", status=404)
    if request.POST.get("DialCallStatus", "") not in services.UNANSWERED:
        return _twiml(twiml.hang_up())
    message = services.transfer_unanswered(call=call, caller=request.POST.get("From", ""))
    return _twiml(twiml.unavailable(message))
