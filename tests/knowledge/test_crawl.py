"""Crawls a real (tiny) website served from 127.0.0.1 by http.server in a thread."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from knowledge.crawl import crawl_site
from knowledge.ingestion import source_ingest
from knowledge.models import Article, Source

PARAGRAPH = "<p>{} This paragraph has enough words to count as the main text of a help centre page.</p>"


def _page(title: str, text: str, links: list[str]) -> bytes:
    anchors = " ".join(f'<a href="{href}">{href}</a>' for href in links)
    return (
        f"<html><head><title>{title} | Northwind</title></head><body><nav>{anchors}</nav>"
        f"<main><h1>{title}</h1>{PARAGRAPH.format(text)}</main></body></html>"
    ).encode()


class FakeSite:
    def __init__(self):
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append(self.path)
                body, status, kind = site.route(self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def route(self, path: str) -> tuple[bytes, int, str]:
        other_host = f"http://localhost:{self.port}/help/elsewhere"  # same server, another host name
        pages = {
            "/robots.txt": (b"User-agent: *\nDisallow: /private/\n", "text/plain"),
            "/help/": (
                _page(
                    "Help centre",
                    "Find answers about orders.",
                    ["/help/shipping", "/help/returns#policy", "/private/staff-notes", other_host, "/logo.png"],
                ),
                "text/html; charset=utf-8",
            ),
            "/help/shipping": (
                _page("Shipping", "Standard delivery takes 2-4 working days.", ["/help/", "/help/returns"]),
                "text/html",
            ),
            "/help/returns": (_page("Returns", "Return unused items within 30 days.", ["/help/sizing"]), "text/html"),
            "/help/sizing": (_page("Sizing", "Boots fit true to size.", []), "text/html"),
            "/private/staff-notes": (_page("Staff notes", "Secret discount codes.", []), "text/html"),
            "/help/elsewhere": (_page("Elsewhere", "Should never be crawled.", []), "text/html"),
        }
        if path in pages:
            body, kind = pages[path]
            return body, 200, kind
        return b"not found", 404, "text/plain"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the test site; the guard refuses loopback otherwise
    with FakeSite() as fake:
        yield fake


def test_crawl_follows_same_host_links_and_respects_robots_txt(site, no_crawl_delay):
    report = crawl_site(start_url=f"{site.base}/help/", page_limit=10)

    crawled = sorted(page.url.removeprefix(site.base) for page in report.pages)
    assert crawled == ["/help/", "/help/returns", "/help/shipping", "/help/sizing"]
    assert report.blocked_by_robots == [f"{site.base}/private/staff-notes"]
    assert "/private/staff-notes" not in site.requests
    assert "/help/elsewhere" not in site.requests  # localhost is another host than 127.0.0.1
    assert "/logo.png" not in site.requests
    assert site.requests.count("/help/returns") == 1  # "#policy" is the same page


def test_crawl_stops_at_the_page_limit(site, no_crawl_delay):
    report = crawl_site(start_url=f"{site.base}/help/", page_limit=2)

    assert len(report.pages) == 2
    assert len([path for path in site.requests if path != "/robots.txt"]) == 2


def test_crawl_extracts_the_main_text_and_title(site, no_crawl_delay):
    report = crawl_site(start_url=f"{site.base}/help/shipping", page_limit=1)

    (page,) = report.pages
    assert page.title == "Shipping"
    assert "2-4 working days" in page.text
    assert "/help/returns" not in page.text  # navigation links are not content


@pytest.mark.django_db
def test_crawling_a_source_creates_embedded_articles_keyed_by_url_and_recrawl_does_not_duplicate(site, no_crawl_delay):
    source = Source.objects.create(name="Help site", kind=Source.Kind.URL, url=f"{site.base}/help/", page_limit=10)

    source_ingest(source_id=source.pk)
    source.refresh_from_db()
    assert (source.status, source.progress_done, source.progress_total) == ("done", 4, 4)

    result = source_ingest(source_id=source.pk)

    assert result.created == 0 and result.unchanged == 4
    assert Article.objects.filter(source=source).count() == 4
    shipping = Article.objects.get(external_key=f"{site.base}/help/shipping")
    assert (shipping.title, shipping.url) == ("Shipping", f"{site.base}/help/shipping")
    assert shipping.chunks.exists()


@pytest.mark.django_db
def test_a_crawl_that_finds_nothing_fails_the_source_with_the_reason(site, no_crawl_delay):
    source = Source.objects.create(name="Typo", kind=Source.Kind.URL, url=f"{site.base}/no-such-page", page_limit=5)

    with pytest.raises(Exception, match="found no articles"):
        source_ingest(source_id=source.pk)

    source.refresh_from_db()
    assert source.status == Source.Status.FAILED
    assert "HTTP 404" in source.last_error
