"""Crawling sites that fight back: real servers on loopback, each misbehaving in one way (issue 16, items 3-4)."""

import gzip
import time
import tracemalloc
from datetime import timedelta

import pytest
from django.utils import timezone

from knowledge import services
from knowledge.crawl import crawl_site
from knowledge.documents import html_to_document
from knowledge.ingestion import source_ingest
from knowledge.models import Article, Source
from knowledge.tasks import recover_stale_sources
from tests.support.web import Web, respond

TEXT = "This paragraph has enough words to count as the main text of a help centre page, and then some more."


def page(title: str, links=(), text: str = TEXT) -> bytes:
    anchors = " ".join(f'<a href="{href}">more</a>' for href in links)
    return (
        f"<html><head><title>{title}</title></head><body><nav>{anchors}</nav>"
        f"<main><h1>{title}</h1><p>{text}</p></main></body></html>"
    ).encode()


@pytest.fixture(autouse=True)
def _site_allowed(settings, no_crawl_delay):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the test site; 127.0.0.2 stays internal


@pytest.mark.timeout(30)
def test_a_huge_crawl_delay_in_robots_txt_is_capped(settings):
    settings.HANDOFF_CRAWL_MAX_DELAY_SECONDS = 0.2

    def handler(request):
        if request.path == "/robots.txt":
            respond(request, 200, b"User-agent: *\nCrawl-delay: 86400\n", Content_Type="text/plain")
        else:
            respond(request, 200, page(request.path, [f"/p{len(request.path)}"]))

    with Web(handler) as site:
        started = time.monotonic()
        report = crawl_site(start_url=f"{site.base}/", page_limit=3)
    assert len(report.pages) == 3
    assert time.monotonic() - started < 5  # two capped delays, not two days


@pytest.mark.timeout(30)
def test_a_maze_of_short_pages_ends_at_the_request_budget():
    # Every page is a stub (too short to be an article) linking to two new stubs: an endless maze.
    def handler(request):
        if request.path == "/robots.txt":
            respond(request, 404, b"")
        else:
            respond(request, 200, page("stub", [f"{request.path}a/", f"{request.path}b/"], text="short"))

    with Web(handler) as site:
        report = crawl_site(start_url=f"{site.base}/", page_limit=5)
    assert report.pages == []
    assert len(site.requests) - 1 <= 5 * 3  # robots.txt, then at most 3 requests per wanted page
    assert "stopped after 15 requests" in report.stopped


@pytest.mark.timeout(30)
def test_error_pages_count_toward_the_request_budget():
    def handler(request):
        if request.path == "/":
            respond(request, 200, page("home", [f"/missing/{n}" for n in range(100)]))
        else:
            respond(request, 404, b"nope", Content_Type="text/plain")

    with Web(handler) as site:
        report = crawl_site(start_url=f"{site.base}/", page_limit=2)
    assert len(report.pages) == 1
    assert len(site.requests) <= 1 + 2 * 3


@pytest.mark.timeout(30)
def test_a_crawl_stops_at_its_total_time_limit(settings):
    settings.HANDOFF_CRAWL_MAX_SECONDS = 1
    settings.HANDOFF_CRAWL_DELAY_SECONDS = 0.3

    def handler(request):
        respond(request, 200, page(request.path, [f"{request.path}x/"]))

    with Web(handler) as site:
        started = time.monotonic()
        report = crawl_site(start_url=f"{site.base}/", page_limit=1000)
    assert time.monotonic() - started < 3
    assert "time limit" in report.stopped
    assert 0 < len(report.pages) < 10


@pytest.mark.timeout(60)
def test_a_gzip_bomb_page_is_skipped_with_the_reason_and_the_crawl_goes_on(settings):
    settings.HANDOFF_CRAWL_MAX_BYTES = 1_000_000
    bomb = gzip.compress(b"<p>" + b"a" * 100_000_000, compresslevel=9)

    def handler(request):
        if request.path == "/bomb":
            respond(request, 200, bomb, Content_Encoding="gzip")
        elif request.path == "/":
            respond(request, 200, page("home", ["/bomb", "/fine"]))
        else:
            respond(request, 200, page("fine"))

    html_to_document(html=page("warm up").decode(), url="https://example.com/")  # trafilatura's one-off allocations
    with Web(handler) as site:
        tracemalloc.start()
        try:
            report = crawl_site(start_url=f"{site.base}/", page_limit=10)
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 15_000_000, f"the crawl held {peak} bytes for a bomb capped at 1 MB"
    assert sorted(p.url.removeprefix(site.base) for p in report.pages) == ["/", "/fine"]
    assert any("/bomb" in error and "larger than" in error for error in report.errors)


@pytest.mark.timeout(30)
def test_a_page_dripping_a_byte_at_a_time_is_cut_at_the_request_deadline(settings):
    settings.HANDOFF_CRAWL_TIMEOUT_SECONDS = 1.0
    settings.HANDOFF_CRAWL_REQUEST_DEADLINE_SECONDS = 1.5

    def handler(request):
        if request.path != "/drip":
            respond(request, 200, page("home", ["/drip"]))
            return
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.end_headers()
        for _ in range(50):
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(0.2)

    with Web(handler) as site:
        started = time.monotonic()
        report = crawl_site(start_url=f"{site.base}/", page_limit=5)
    assert time.monotonic() - started < 5
    assert any("/drip" in error for error in report.errors)


def test_a_redirect_to_an_internal_address_is_not_fetched():
    with Web(lambda request: respond(request, 200, page("internal secrets")), host="127.0.0.2") as internal:

        def handler(request):
            if request.path == "/":
                respond(request, 200, page("home", ["/go"]))
            elif request.path == "/robots.txt":
                respond(request, 404, b"")
            else:
                respond(request, 302, Location=f"{internal.base}/latest/meta-data?token=abc")

        with Web(handler) as site:
            report = crawl_site(start_url=f"{site.base}/", page_limit=5)
    assert [p.url for p in report.pages] == [f"{site.base}/"]
    assert internal.requests == []
    assert any("private or internal" in error for error in report.errors)


def test_a_start_url_on_an_internal_address_fails_with_the_reason():
    with (
        Web(lambda request: respond(request, 200, page("internal")), host="127.0.0.2") as internal,
        pytest.raises(services.KnowledgeError, match="private or internal"),
    ):
        crawl_site(start_url=f"{internal.base}/", page_limit=5)
    assert internal.requests == []


@pytest.mark.django_db
def test_a_link_longer_than_an_article_url_is_skipped_and_every_crawled_article_is_embedded():
    long_link = "/" + "a" * 600

    def handler(request):
        if request.path == "/":
            respond(request, 200, page("home", [long_link, "/next"]))
        else:
            respond(request, 200, page(f"page {len(request.path)}"))

    with Web(handler) as site:
        source = Source.objects.create(name="Site", kind=Source.Kind.URL, url=f"{site.base}/", page_limit=10)
        source_ingest(source_id=source.pk)
    source.refresh_from_db()
    assert source.status == Source.Status.DONE
    articles = Article.objects.filter(source=source)
    assert sorted(a.url.removeprefix(site.base) for a in articles) == ["/", "/next"]
    assert all(a.embedded_at is not None for a in articles)
    assert long_link not in site.requests


@pytest.mark.django_db
def test_a_source_left_running_by_a_killed_worker_can_be_run_again_and_is_recovered():
    source = Source.objects.create(name="Site", kind=Source.Kind.URL, url="https://example.com/", page_limit=5)
    Source.objects.filter(pk=source.pk).update(
        status=Source.Status.RUNNING, updated_at=timezone.now() - timedelta(hours=2)
    )
    fresh = Source.objects.create(name="Busy", kind=Source.Kind.URL, url="https://example.com/", page_limit=5)
    Source.objects.filter(pk=fresh.pk).update(status=Source.Status.RUNNING)
    source.refresh_from_db()
    fresh.refresh_from_db()

    with pytest.raises(services.KnowledgeError, match="already running"):
        services.source_request_ingestion(source=fresh)  # a live job is still protected
    assert services.source_is_stale(source=source)

    recover_stale_sources()

    source.refresh_from_db()
    fresh.refresh_from_db()
    assert source.status == Source.Status.FAILED
    assert "Interrupted" in source.last_error
    assert fresh.status == Source.Status.RUNNING
