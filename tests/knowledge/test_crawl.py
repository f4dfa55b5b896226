"""A site crawl: its sitemap (named by robots.txt), robots.txt rules, same-site links, depth and
page limit, main content only, and a scheduled re-sync that replaces what changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from knowledge import services
from knowledge.models import KnowledgeBase
from knowledge.retrieval import retrieve
from tests.fakes.server import ThreadedServer

pytestmark = pytest.mark.django_db


def page(title: str, body: str, links: str = "") -> tuple[str, bytes]:
    html = (
        f"<html><head><title>{title} | Brewline</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/shop'>Shop</a> Subscribe to our newsletter</nav>"
        f"<main><h1>{title}</h1><p>{body}</p>{links}</main>"
        "<footer>Copyright Brewline · Cookie settings · Careers</footer></body></html>"
    )
    return "text/html", html.encode()


class Site:
    def __init__(self):
        self.server = ThreadedServer(self.app)
        self.pages: dict[str, tuple[str, bytes]] = {}

    def fill(self):
        base = self.server.base_url
        self.pages = {
            "/robots.txt": (
                "text/plain",
                f"User-agent: *\nDisallow: /internal\nSitemap: {base}/maps/index.xml\n".encode(),
            ),
            "/maps/index.xml": (
                "application/xml",
                f"<?xml version='1.0'?><sitemapindex><sitemap><loc>{base}/maps/help.xml</loc></sitemap></sitemapindex>".encode(),
            ),
            "/maps/help.xml": (
                "application/xml",
                (
                    "<?xml version='1.0'?><urlset>"
                    f"<url><loc>{base}/descaling</loc></url><url><loc>{base}/internal/pricing</loc></url>"
                    "<url><loc>https://elsewhere.example/x</loc></url></urlset>"
                ).encode(),
            ),
            "/": page(
                "Help",
                "Answers about Brewline espresso machines, with care guides for every model we sell.",
                "<a href='/warranty'>Warranty</a>",
            ),
            "/warranty": page(
                "Warranty",
                "Brewline machines are covered for three years against manufacturing faults.",
                "<a href='/warranty/claims'>Claims</a>",
            ),
            "/warranty/claims": page("Claims", "Two links deep: a crawl of depth one never reads this page."),
            "/descaling": page(
                "Descaling", "Descale the boiler every eight weeks with the citric tablets that come in the box."
            ),
            "/internal/pricing": page("Pricing", "Internal margins, not for customers."),
            "/shop": page("Shop", "Machines, grinders and accessories, delivered in two working days."),
        }

    async def app(self, scope, receive, send):
        ctype, body = self.pages.get(scope["path"], ("text/plain", b"not found"))
        status = 200 if scope["path"] in self.pages else 404
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", ctype.encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def site():
    s = Site()
    s.server.start()
    s.fill()
    yield s
    s.server.stop()


@pytest.fixture
def web_kb(workspace):
    workspace.allow_private_networks = True  # the site is on loopback: trusted on purpose here
    workspace.save()
    return KnowledgeBase.objects.create(workspace=workspace, name="Brewline help")


def crawl(kb, root_url, **options):
    root = services.document_add_url(kb=kb, url=root_url, **options)
    assert services.document_ingest(root.pk) == "ingested"
    for document in root.crawled_pages.all():
        outcome = services.document_ingest(document.pk)
        document.refresh_from_db()
        assert outcome == "ingested", (document.url, document.error)
    return root


def test_a_crawl_reads_the_sitemap_and_links_within_robots_depth_and_the_site(site, web_kb):
    base = site.server.base_url
    root = crawl(web_kb, base + "/", crawl_depth=1, crawl_max_pages=10)
    read = sorted(d.url.removeprefix(base) for d in root.crawled_pages.all())
    # /descaling only from the sitemap (no page links it); not /internal (robots.txt), not
    # /warranty/claims (two links deep), not the other site listed in the sitemap.
    assert read == ["/descaling", "/shop", "/warranty"]

    hit = retrieve([web_kb.pk], "how often should I descale the boiler")[0]
    assert hit.source_url == base + "/descaling" and hit.document_title == "Descaling"
    # Main content only: the navigation and footer of every page are not in the knowledge base.
    texts = " ".join(c.text for c in web_kb.chunks.all())
    assert "newsletter" not in texts and "Careers" not in texts and "three years" in texts


def test_the_page_limit_counts_the_start_page(site, web_kb):
    root = crawl(web_kb, site.server.base_url + "/", crawl_depth=1, crawl_max_pages=2)
    assert root.crawled_pages.count() == 1


def test_a_daily_source_is_fetched_again_and_its_new_text_replaces_the_old(site, web_kb):
    base = site.server.base_url
    root = crawl(web_kb, base + "/", crawl_depth=1, crawl_max_pages=10, resync_hours=24)
    assert services.documents_resync_due() == 0  # read moments ago

    site.pages["/warranty"] = page("Warranty", "Brewline machines are now covered for five years, parts and labour.")
    web_kb.documents.update(ingested_at=timezone.now() - timedelta(hours=25))  # a day passes
    assert services.documents_resync_due() == 4  # the start page and the pages its crawl found
    warranty = web_kb.documents.get(url=base + "/warranty")
    assert warranty.status == "pending" and warranty.version == 1
    assert services.document_ingest(warranty.pk) == "ingested"
    assert services.document_ingest(root.pk) == "unchanged"

    warranty.refresh_from_db()
    assert warranty.version == 2
    hit = retrieve([web_kb.pk], "how many years is the machine covered")[0]
    assert "five years" in hit.text
    assert not web_kb.chunks.filter(text__contains="three years").exists()


def test_bad_crawl_options_are_refused_and_add_nothing(site, web_kb):
    with pytest.raises(services.UploadRefused, match="Re-sync can be never"):
        services.document_add_url(kb=web_kb, url=site.server.base_url + "/", resync_hours=5)
    assert not web_kb.documents.exists()
