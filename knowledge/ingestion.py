"""Running a source's ingestion in a worker: read it by kind, upsert its articles, embed the changed ones.

Each kind's reader keeps its parsing beside it: an FAQ file (knowledge.importers), an uploaded
document (knowledge.documents), a website crawl (knowledge.crawl). The source's status, progress and
last error show in admin. Only the ingestion tasks import this module (in their bodies), so the
readers' libraries (trafilatura, pypdf, httpx) load in the worker, not in the web process;
knowledge.services queues the tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.utils import timezone

from knowledge.crawl import site_ingest
from knowledge.documents import file_ingest
from knowledge.importers import faq_ingest
from knowledge.models import Source
from knowledge.services import IngestResult, KnowledgeError, articles_embed, classifier_request_training

logger = logging.getLogger(__name__)

READERS: dict[str, Callable[..., IngestResult]] = {
    Source.Kind.FAQ: faq_ingest,
    Source.Kind.FILE: file_ingest,
    Source.Kind.URL: site_ingest,
}


def source_ingest(*, source_id: int) -> IngestResult:
    """Fetch or read the source, upsert its articles, embed the changed ones; status and progress in admin."""
    with _source_running(source_id) as source:
        reader = READERS.get(source.kind)
        # A manual source has nothing to read: its articles are typed in admin, and only embedded here.
        result = reader(source=source) if reader is not None else IngestResult(unchanged=source.articles.count())
        articles_embed(articles=list(source.articles.select_related("source")), progress_source=source)
    classifier_request_training()
    logger.info("Ingested %s: %s", source, result)
    return result


def source_reembed(*, source_id: int) -> int:
    """Re-embed every article of the source (after a model change, say); returns how many."""
    with _source_running(source_id) as source:
        count = articles_embed(
            articles=list(source.articles.select_related("source")), force=True, progress_source=source
        )
    classifier_request_training()
    return count


def _for_managers(error: Exception) -> str:
    """What admin shows: our own errors say what to do; a library's raw text would not, and may
    name internals, so it goes to the log and the manager reads what kind of failure it was."""
    if isinstance(error, KnowledgeError):
        return str(error)
    logger.error("Ingestion failed", exc_info=error)
    return f"Reading this source failed unexpectedly ({type(error).__name__}); the details are in the server log."


@contextmanager
def _source_running(source_id: int) -> Iterator[Source]:
    """The source marked running; done when the block finishes, failed (with the error) when it raises."""
    source = Source.objects.get(pk=source_id)
    source.status = Source.Status.RUNNING
    source.last_error = ""
    source.progress_done = source.progress_total = 0
    source.save(update_fields=["status", "last_error", "progress_done", "progress_total", "updated_at"])
    try:
        yield source
    except Exception as error:
        Source.objects.filter(pk=source.pk).update(
            status=Source.Status.FAILED, last_error=_for_managers(error)[:2000], updated_at=timezone.now()
        )
        raise
    Source.objects.filter(pk=source.pk).update(status=Source.Status.DONE, updated_at=timezone.now())
