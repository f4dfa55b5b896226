"""Twilio REST: change a live call (transfer with new TwiML, or hang up); `numbers` sets a number's webhooks.

Through the official SDK with its async HTTP client; `TWILIO_API_BASE_URL` replaces the API's
base URL so a proxy or the tests' fake receives the same requests
(`POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json`). Updating the call ends our media stream:
Twilio sends `stop` and runs the new TwiML.
"""

from __future__ import annotations

from django.conf import settings
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client


def client() -> Client:
    """A Twilio client on the async HTTP client; close its `http_client` when done."""
    twilio = Client(
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=AsyncTwilioHttpClient(timeout=10)
    )
    if settings.TWILIO_API_BASE_URL:
        twilio.api.base_url = settings.TWILIO_API_BASE_URL.rstrip("/")
    return twilio


async def update_call(call_sid: str, *, twiml: str | None = None, hang_up: bool = False) -> None:
    twilio = client()
    try:
        if hang_up:
            await twilio.calls(call_sid).update_async(status="completed")
        else:
            await twilio.calls(call_sid).update_async(twiml=twiml)
    finally:
        await twilio.http_client.close()
