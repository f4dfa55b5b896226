"""Which pages a same-site crawl reads: robots.txt rules (protego), the site's sitemap, links.

Pages are fetched through `knowledge.fetch`, so robots.txt and sitemaps pass the same SSRF guard
as the pages themselves; `access` is whatever `fetch.fetch_page` takes to apply it. A missing
or unreadable robots.txt allows everything, as crawlers agree; a missing sitemap adds nothing.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urldefrag, urljoin, urlsplit

from protego import Protego

from knowledge.extract import ExtractionError
from knowledge.fetch import USER_AGENT, fetch_page

_LOC = re.compile(rb"<loc>\s*([^<\s]+)\s*</loc>", re.I)
MAX_SITEMAPS = 10  # a sitemap index and the sitemaps it lists, at most


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def robots_for(url: str, access) -> Protego:
    try:
        page = fetch_page(_origin(url) + "/robots.txt", access)
        text = page.content.decode("utf-8", "replace")
    except ExtractionError:
        text = ""
    return Protego.parse(text)


def sitemap_urls(url: str, robots: Protego, access) -> list[str]:
    """Page addresses listed by the site's sitemaps (those robots.txt names, else /sitemap.xml),
    following one level of sitemap index."""
    queue = list(robots.sitemaps) or [_origin(url) + "/sitemap.xml"]
    pages: list[str] = []
    read = 0
    while queue and read < MAX_SITEMAPS:
        sitemap = queue.pop(0)
        read += 1
        try:
            content = fetch_page(sitemap, access).content
        except ExtractionError:
            continue
        for raw in _LOC.findall(content):
            loc = html.unescape(raw.decode("utf-8", "replace"))
            (queue if b"<sitemapindex" in content[:2000] else pages).append(loc)
    return pages


def same_site_links(base_url: str, hrefs: list[str], robots: Protego) -> list[str]:
    """Absolute, de-duplicated links on the same host (and scheme) that robots.txt lets us fetch."""
    base = urlsplit(base_url)
    seen: dict[str, None] = {}
    for href in hrefs:
        url = urldefrag(urljoin(base_url, href.strip()))[0]
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or url == base_url:
            continue
        if robots.can_fetch(url, USER_AGENT):
            seen.setdefault(url)
    return list(seen)
