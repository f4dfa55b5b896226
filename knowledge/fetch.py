"""Fetch web pages for ingestion through the SSRF guard (which links a crawl follows: `knowledge.crawl`).

Every request (robots.txt included) goes through `dialogue.netguard.fetch_sync`, so a URL that
resolves to a private address is refused exactly as a tool call would be, on every redirect hop. Size and time limits
come from settings; failures become `ExtractionError`s worded for the builder.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

from dialogue import netguard
from knowledge.extract import ExtractionError

USER_AGENT = "SwitchboardBot/1.0 (+knowledge ingestion)"


@dataclass
class Page:
    url: str  # after redirects
    content_type: str
    content: bytes


def _get(url: str, policy: netguard.Policy) -> netguard.Response:
    timeout = settings.KNOWLEDGE_FETCH_TIMEOUT
    try:
        return netguard.fetch_sync(
            "GET",
            url,
            headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/pdf,text/*;q=0.9,*/*;q=0.5"},
            policy=policy,
            timeout_s=timeout,
            max_bytes=settings.KNOWLEDGE_MAX_FILE_MB * 1024 * 1024,
        )
    except netguard.OutboundError as exc:
        raise ExtractionError(f"We could not fetch {url}: {exc}")
    except httpx.TimeoutException:
        raise ExtractionError(f"The page {url} did not answer within {timeout} seconds. Try again later.")
    except httpx.HTTPError as exc:
        raise ExtractionError(f"We could not connect to {url} ({type(exc).__name__}). Check the address.")


def fetch_page(url: str, policy: netguard.Policy) -> Page:
    resp = _get(url, policy)
    if not resp.ok:
        raise ExtractionError(f"The page {url} answered with HTTP {resp.status_code}, so there was nothing to read.")
    return Page(url=resp.url, content_type=resp.headers.get("content-type", ""), content=resp.content)
