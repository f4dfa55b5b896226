"""Which web pages may embed a bot: the widget's `allowed_origins` setting."""

from __future__ import annotations

from urllib.parse import urlsplit


def _normalise(origin: str) -> str:
    parts = urlsplit(origin.strip().lower())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """An empty list allows any page. Entries are origins (`https://shop.example.com`) or a
    wildcard for subdomains (`https://*.example.com`). A request without an Origin header is not
    from a browser page, so the list cannot apply to it; it passes (the public key still limits
    it to chatting with the published bot)."""
    if not allowed or not origin:
        return True
    origin = _normalise(origin)
    for entry in allowed:
        entry = entry.strip().lower().rstrip("/")
        if entry == origin:
            return True
        if "://*." in entry:
            scheme, suffix = entry.split("://*.", 1)
            if origin.startswith(scheme + "://") and origin.endswith("." + suffix):
                return True
    return False
