"""Crawl a company's own website into articles: same host only, robots.txt respected, bounded.

Breadth-first from the start URL; each HTML page's main text is extracted by trafilatura (see
knowledge.documents.html_to_document) and becomes an article keyed by its URL. Pages are fetched
one at a time with a delay (robots.txt's Crawl-delay if larger, up to a cap), which is all the
politeness a small help-centre crawl needs.

A crawled site is untrusted: every request goes through `outbound` (no private or internal
addresses on any hop, a total deadline per request, a cap on the decompressed body), and the crawl
as a whole is bounded in requests (error pages and stubs count too, so a maze of short pages ends),
in time, and in delay.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import lxml.etree
import lxml.html
from django.db import transaction

import outbound
from knowledge import conf
from knowledge.documents import html_to_document
from knowledge.models import Article, Source
from knowledge.services import IngestResult, KnowledgeError, article_upsert, source_progress

logger = logging.getLogger(__name__)

# Links to these are never pages worth a request.
SKIPPED_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp", ".ico", ".css", ".js", ".zip", ".gz", ".mp4")
# Pages with less text than this (after extraction) are navigation or stubs, not articles.
MIN_TEXT_CHARS = 40
# An article's URL and key are stored in 500 characters; a longer link is skipped, not truncated.
MAX_URL_CHARS = Article._meta.get_field("url").max_length


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    text: str


@dataclass
class CrawlReport:
    pages: list[Page]
    blocked_by_robots: list[str]
    errors: list[str]
    stopped: str = ""  # why the crawl ended before its queue did (a budget ran out), for admin


def normalise_url(url: str) -> str:
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    path = parts.path or "/"
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower(), path=path).geturl()


def crawl_site(
    *,
    start_url: str,
    page_limit: int,
    delay: float | None = None,
    on_page: Callable[[int], None] | None = None,
) -> CrawlReport:
    """Fetch up to `page_limit` HTML pages reachable from `start_url` on its host, within the crawl budgets."""
    start_url = normalise_url(start_url)
    start = urlsplit(start_url)
    if start.scheme not in ("http", "https") or not start.netloc:
        raise KnowledgeError(f"{start_url!r} is not an http(s) URL; give the crawl a full start URL")
    user_agent = conf.get("CRAWL_USER_AGENT")
    delay = conf.get("CRAWL_DELAY_SECONDS") if delay is None else delay
    max_fetches = page_limit * conf.get("CRAWL_FETCHES_PER_PAGE")
    ends_at = time.monotonic() + conf.get("CRAWL_MAX_SECONDS")
    report = CrawlReport(pages=[], blocked_by_robots=[], errors=[])

    with outbound.Client(
        user_agent=user_agent,
        connect_timeout=conf.get("CRAWL_CONNECT_TIMEOUT_SECONDS"),
        read_timeout=conf.get("CRAWL_TIMEOUT_SECONDS"),
        total_timeout=conf.get("CRAWL_REQUEST_DEADLINE_SECONDS"),
        max_bytes=conf.get("CRAWL_MAX_BYTES"),
    ) as client:
        robots = _robots(client, f"{start.scheme}://{start.netloc}/robots.txt")
        robots_delay = robots.crawl_delay(user_agent) if robots else None
        # A hostile or careless robots.txt (Crawl-delay: 86400) must not park the worker for a day.
        delay = min(max(delay, float(robots_delay or 0)), conf.get("CRAWL_MAX_DELAY_SECONDS"))

        queue: deque[str] = deque([start_url])
        seen = {start_url}
        fetched = 0
        while queue and len(report.pages) < page_limit:
            if fetched >= max_fetches:
                report.stopped = f"stopped after {fetched} requests (the limit for {page_limit} pages)"
                break
            if time.monotonic() + delay > ends_at:
                report.stopped = f"stopped after {conf.get('CRAWL_MAX_SECONDS')} s (the time limit of a crawl)"
                break
            url = queue.popleft()
            if robots is not None and not robots.can_fetch(user_agent, url):
                report.blocked_by_robots.append(url)
                continue
            if fetched:
                time.sleep(delay)
            fetched += 1
            page, links = _fetch(client, url, start.netloc, report)
            if page is not None:
                report.pages.append(page)
                if on_page is not None:
                    on_page(len(report.pages))
            for link in links:
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    return report


def _robots(client, robots_url: str) -> RobotFileParser | None:
    """The site's robots.txt rules; None when there is none (everything allowed)."""
    parser = RobotFileParser(robots_url)
    try:
        response = client.get(robots_url, max_bytes=conf.get("CRAWL_ROBOTS_MAX_BYTES"))
    except outbound.OutboundError as error:
        raise KnowledgeError(f"could not read {robots_url}: {error}") from error
    if response.status >= 500:
        # RFC 9309: an unreachable robots.txt means "assume everything is disallowed".
        raise KnowledgeError(f"{robots_url} answered {response.status}; try the crawl again later")
    if response.status >= 400:
        return None
    parser.parse(response.text.splitlines())
    return parser


def _fetch(client, url: str, host: str, report: CrawlReport) -> tuple[Page | None, list[str]]:
    try:
        response = client.get(url)
    except outbound.OutboundError as error:
        report.errors.append(f"{url}: {error}")
        return None, []
    final_url = normalise_url(response.url)
    if response.status != 200 or urlsplit(final_url).netloc != host:
        report.errors.append(f"{url}: HTTP {response.status}")
        return None, []
    if len(final_url) > MAX_URL_CHARS:
        report.errors.append(f"{final_url[:100]}...: URL longer than {MAX_URL_CHARS} characters")
        return None, []
    if "html" not in (response.content_type or "text/html"):
        return None, []
    html = response.text
    links = _same_host_links(html, final_url, host)
    document = html_to_document(html=html, url=final_url)
    if len(document.body) < MIN_TEXT_CHARS:
        return None, links
    return Page(url=final_url, title=document.title, text=document.body), links


def _same_host_links(html: str, base_url: str, host: str) -> list[str]:
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return []
    base = tree.find(".//base[@href]")
    base_url = urljoin(base_url, base.get("href")) if base is not None else base_url
    links = []
    for anchor in tree.iterfind(".//a[@href]"):
        if "nofollow" in (anchor.get("rel") or ""):
            continue
        link = normalise_url(urljoin(base_url, anchor.get("href").strip()))
        parts = urlsplit(link)
        if (
            parts.scheme in ("http", "https")
            and parts.netloc == host
            and len(link) <= MAX_URL_CHARS
            and not parts.path.lower().endswith(SKIPPED_SUFFIXES)
        ):
            links.append(link)
    return links


def site_ingest(*, source: Source) -> IngestResult:
    """Crawl `source.url`; every page becomes an article keyed by URL, pages now gone are unpublished."""
    if not source.url:
        raise KnowledgeError(f"{source} has no start URL")

    def on_page(count: int) -> None:
        source_progress(source=source, done=count, total=source.page_limit)

    report = crawl_site(start_url=source.url, page_limit=source.page_limit, on_page=on_page)
    if not report.pages:
        problems = "; ".join(report.errors[:3]) or "no page with enough text"
        raise KnowledgeError(f"the crawl of {source.url} found no articles ({problems})")
    result = IngestResult(
        skipped=report.blocked_by_robots + report.errors + ([report.stopped] if report.stopped else [])
    )
    seen: set[int] = set()
    # All pages or none: a failure half-way must not leave some articles published and never embedded.
    with transaction.atomic():
        for page in report.pages:
            article, outcome = article_upsert(
                source=source,
                external_key=page.url,
                title=page.title,
                body=page.text,
                url=page.url,
                sync_questions=False,
            )
            seen.add(article.pk)
            setattr(result, outcome, getattr(result, outcome) + 1)
        # Only a crawl that saw its whole site may unpublish pages it did not find (not one that hit a limit).
        if len(report.pages) < source.page_limit and not report.stopped:
            result.unpublished = source.articles.exclude(pk__in=seen).filter(published=True).update(published=False)
    logger.info(
        "Crawled %s: %d pages, %d blocked by robots.txt", source.url, len(report.pages), len(report.blocked_by_robots)
    )
    return result
