"""Connecting a phone number: the two webhook addresses Twilio must call, and a check that sets
them on the number through Twilio's API when Switchboard has the account's credentials."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from twilio.base.exceptions import TwilioException, TwilioRestException

from voice import telephony


class NumberProblem(Exception):
    """The number could not be set up; the message says what to do."""


def webhook_urls() -> dict[str, str]:
    """Twilio console label → the address to paste there."""
    base = settings.PUBLIC_BASE_URL
    return {
        "A call comes in (Webhook, HTTP POST)": base + reverse("voice:incoming"),
        "Call status changes (HTTP POST)": base + reverse("voice:status"),
    }


def can_set_webhooks() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


async def set_webhooks(phone_number: str) -> None:
    """Point the Twilio number at this Switchboard. Raises `NumberProblem`."""
    if not can_set_webhooks():
        raise NumberProblem("Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN first, or paste the addresses yourself.")
    if not phone_number:
        raise NumberProblem("Enter the phone number first, in international form, e.g. +14155550100.")
    incoming, status = webhook_urls().values()
    twilio = telephony.client()
    try:
        found = await twilio.incoming_phone_numbers.list_async(phone_number=phone_number, limit=1)
        if not found:
            raise NumberProblem(
                f"Twilio has no number {phone_number} in this account: check the number, or buy it in Twilio's console."
            )
        await twilio.incoming_phone_numbers(found[0].sid).update_async(
            voice_url=incoming, voice_method="POST", status_callback=status, status_callback_method="POST"
        )
    except TwilioRestException as exc:
        if exc.status == 401:
            raise NumberProblem(
                "Twilio refused the account SID or auth token: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
            ) from exc
        raise NumberProblem(f"Twilio answered: {exc.msg or exc.status}.") from exc
    except (TwilioException, OSError) as exc:
        raise NumberProblem(f"Twilio could not be reached ({type(exc).__name__}); try again in a moment.") from exc
    finally:
        await twilio.http_client.close()
