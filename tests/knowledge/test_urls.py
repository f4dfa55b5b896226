"""Web pages: fetched through the SSRF guard, crawled within the site and robots.txt, re-fetched on demand."""

from __future__ import annotations

import asyncio

import pytest

from knowledge import services
from knowledge.models import Document, KnowledgeBase
from knowledge.retrieval import retrieve
from tests.fakes.server import ThreadedServer

pytestmark = pytest.mark.django_db

ROBOTS = b"User-agent: *\nDisallow: /private\n"


class Site:
    """A small help site on a loopback port; `pages` can be edited between fetches."""

    def __init__(self):
        self.pages: dict[str, tuple[str, bytes]] = {
            "/robots.txt": ("text/plain", ROBOTS),
            "/": (
                "text/html",
                b"<html><head><title>Help</title></head><body><nav><a href='/'>Home</a></nav><main>"
                b"<h1>Help</h1><p>Start here for answers about our espresso grinders.</p>"
                b"<a href='/grinders'>Grinders</a> <a href='/returns#top'>Returns</a> "
                b"<a href='/private/staff'>Staff</a> <a href='https://elsewhere.example/'>Partner</a>"
                b"</main></body></html>",
            ),
            "/grinders": ("text/html", b"<main><h1>Grinders</h1><p>Burr grinders need cleaning weekly.</p></main>"),
            "/returns": ("text/html", b"<main><h1>Returns</h1><p>Grinders can be returned within 30 days.</p></main>"),
            "/private/staff": ("text/html", b"<main><p>Staff rota and door codes.</p></main>"),
            "/logo.png": ("image/png", b"\x89PNG\r\n\x1a\n...."),
        }
        self.server = ThreadedServer(self.app)

    async def app(self, scope, receive, send):
        path = scope["path"]
        if path == "/slow":
            await asyncio.sleep(5)
        ctype, body = self.pages.get(path, ("text/plain", b"not found"))
        status = 200 if path in self.pages or path == "/slow" else 404
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", ctype.encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def site():
    s = Site()
    s.server.start()
    yield s
    s.server.stop()


@pytest.fixture
def web_kb(workspace):
    # The site is on loopback: private networks allowed on purpose here, for this host only.
    workspace.tool_allowed_hosts, workspace.allow_private_networks = ["127.0.0.1"], True
    workspace.save()
    return KnowledgeBase.objects.create(workspace=workspace, name="Web", embedding_provider="none")


def test_crawl_follows_same_site_links_allowed_by_robots_within_the_page_limit(site, web_kb):
    root = services.document_add_url(kb=web_kb, url=site.server.base_url + "/", crawl_depth=1, crawl_max_pages=3)
    assert services.document_ingest(root.pk) == "ingested"
    pages = {d.url.removeprefix(site.server.base_url): d for d in root.crawled_pages.all()}
    assert set(pages) == {"/grinders", "/returns"}  # not /private (robots.txt), not the other site
    for page in pages.values():
        assert page.crawl_depth == 0
        assert services.document_ingest(page.pk) == "ingested"
    hit = retrieve([web_kb.pk], "how often should burr grinders be cleaned")[0]
    assert hit.source_url == site.server.base_url + "/grinders" and hit.document_title == "Grinders"

    with pytest.raises(services.UploadRefused, match="is already in this knowledge base"):
        services.document_add_url(kb=web_kb, url=site.server.base_url + "/grinders")
    services.document_reingest(document=root)  # the same page again: its crawl adds no duplicates
    assert services.document_ingest(root.pk) == "unchanged"
    assert web_kb.documents.count() == 3


def test_the_page_limit_bounds_a_crawl(site, web_kb):
    root = services.document_add_url(kb=web_kb, url=site.server.base_url + "/", crawl_depth=2, crawl_max_pages=2)
    services.document_ingest(root.pk)
    assert [d.url for d in root.crawled_pages.all()] == [site.server.base_url + "/grinders"]


def test_refetch_on_demand_replaces_the_page_text(site, web_kb):
    doc = services.document_add_url(kb=web_kb, url=site.server.base_url + "/returns")
    services.document_ingest(doc.pk)
    site.pages["/returns"] = ("text/html", b"<main><h1>Returns</h1><p>Returns are free for 60 days.</p></main>")
    try:
        services.document_reingest(document=doc)
        assert services.document_ingest(doc.pk) == "ingested"
        assert [c.text for c in doc.chunks.all()] == ["Returns are free for 60 days."]
        assert services.document_ingest(doc.pk) == "unchanged"
    finally:
        site.pages["/returns"] = (
            "text/html",
            b"<main><h1>Returns</h1><p>Grinders can be returned within 30 days.</p></main>",
        )


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "did not answer within 1 seconds"),
        ("/logo.png", "returned image/png, which we can't read"),
        ("/missing", "answered with HTTP 404"),
    ],
)
def test_pages_that_cannot_be_read_fail_with_a_plain_message(site, web_kb, settings, path, message):
    settings.KNOWLEDGE_FETCH_TIMEOUT = 1
    doc = services.document_add_url(kb=web_kb, url=site.server.base_url + path)
    assert services.document_ingest(doc.pk) == "failed"
    doc.refresh_from_db()
    assert doc.status == Document.Status.FAILED and message in doc.error
    assert not doc.chunks.exists()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/"])
def test_addresses_on_private_networks_are_refused(workspace, url):
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Web", embedding_provider="none")
    doc = services.document_add_url(kb=kb, url=url)
    assert services.document_ingest(doc.pk) == "failed"
    doc.refresh_from_db()
    assert "private or internal address" in doc.error or "cloud metadata address" in doc.error
