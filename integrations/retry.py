"""When to try an outside system again, shared by webhooks and the Zendesk connector.

Network errors, 429 and 5xx are worth another attempt; any other answer will not change by
asking again. The wait doubles per attempt (INTEGRATION_RETRY_BASE_MS, 2×, 4×, …) and a
Retry-After from the receiver is honoured when it asks for longer. After
INTEGRATION_MAX_ATTEMPTS attempts the delivery is failed and shows so in the admin.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils import timezone

MAX_DELAY_S = 3600.0  # a receiver asking for more than an hour gets its hour; the log says when


def retryable(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


def retry_after_s(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def next_delay_s(attempts_done: int, retry_after: float | None = None) -> float | None:
    """Seconds to wait before the next attempt, or None when no attempt is left."""
    if attempts_done >= settings.INTEGRATION_MAX_ATTEMPTS:
        return None
    backoff = settings.INTEGRATION_RETRY_BASE_MS / 1000 * 2 ** (attempts_done - 1)
    return min(max(backoff, retry_after or 0.0), MAX_DELAY_S)
