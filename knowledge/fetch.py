"""Fetch web pages for ingestion through the SSRF guard, and decide which links a crawl follows.

Every request (robots.txt included) goes through `dialogue.netguard.fetch_sync`, so a URL that
resolves to a private address is refused exactly as a tool call would be, on every redirect hop. Size and time limits
come from settings; failures become `ExtractionError`s worded for the builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib import robotparser
from urllib.parse import urldefrag, urljoin, urlsplit

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


def robots_for(url: str, policy: netguard.Policy) -> robotparser.RobotFileParser:
    """The site's robots.txt rules; a missing or unreachable file allows everything, as crawlers agree."""
    parts = urlsplit(url)
    parser = robotparser.RobotFileParser()
    try:
        resp = _get(f"{parts.scheme}://{parts.netloc}/robots.txt", policy)
    except ExtractionError:
        resp = None
    if resp is not None and resp.ok:
        parser.parse(resp.text.splitlines())
    elif resp is not None and resp.status_code in (401, 403):
        parser.disallow_all = True
    else:
        parser.allow_all = True
    return parser


def same_site_links(base_url: str, hrefs: list[str], robots: robotparser.RobotFileParser) -> list[str]:
    """Absolute, de-duplicated links on the same host (and scheme) that robots.txt lets us fetch."""
    base = urlsplit(base_url)
    seen: dict[str, None] = {}
    for href in hrefs:
        url = urldefrag(urljoin(base_url, href.strip()))[0]
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or url == base_url:
            continue
        if robots.can_fetch(USER_AGENT, url):
            seen.setdefault(url)
    return list(seen)
