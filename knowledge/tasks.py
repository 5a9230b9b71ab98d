"""Celery tasks of the knowledge base: thin wrappers that load ids and call a service.

Importing this module must stay cheap (the services import it to queue tasks, and the web process
imports the services), so each task body imports its service: that avoids the import cycle, and the
services' heavy dependencies (numpy, LangChain, trafilatura, pypdf) load only in the worker.
"""

from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from knowledge import conf

# Retried: the database restarting or a lock timeout. Not retried: bad input (KnowledgeError) or
# bugs, which would only fail the same way again; those are on the source's last_error in admin.
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 300, "max_retries": 3}


@shared_task(ignore_result=True, **RETRY)
def ingest_source(source_id: int) -> None:
    from knowledge.ingestion import source_ingest  # noqa: PLC0415 - task body (trafilatura, pypdf)

    source_ingest(source_id=source_id)


@shared_task(ignore_result=True, **RETRY)
def reembed_source(source_id: int) -> None:
    from knowledge.ingestion import source_reembed  # noqa: PLC0415 - task body (trafilatura, pypdf)

    source_reembed(source_id=source_id)


@shared_task(ignore_result=True, **RETRY)
def recover_stale_sources() -> None:
    """Celery beat: a job whose worker was killed leaves its source "running"; mark it failed, re-runnable."""
    from knowledge.services import sources_recover_stale  # noqa: PLC0415 - task body

    sources_recover_stale()


@shared_task(ignore_result=True, **RETRY)
def embed_article(article_id: int) -> None:
    from knowledge.services import article_embed, classifier_request_training  # noqa: PLC0415 - task body

    if article_embed(article_id=article_id):
        classifier_request_training()


@shared_task(ignore_result=True, **RETRY)
def train_classifier() -> None:
    from knowledge.classifier import classifier_train  # noqa: PLC0415 - task body (numpy)

    # Many changes in a row each queue one of these; all but the first find the probe up to date.
    classifier_train()


@shared_task(ignore_result=True, **RETRY)
def generate_suggestions_for_conversation(conversation_id: int) -> None:
    """Queued on commit when a conversation is resolved (knowledge.learning.generation)."""
    from knowledge.learning.generation import suggestions_generate_for_conversation  # noqa: PLC0415 - task body

    suggestions_generate_for_conversation(conversation_id=conversation_id)


@shared_task(ignore_result=True, **RETRY)
def generate_suggestions_nightly() -> None:
    """Celery beat, nightly: catches conversations never resolved (thumbs down, unanswered) and content gaps."""
    from knowledge.learning.nightly import suggestions_generate_nightly  # noqa: PLC0415 - task body (numpy)

    # Generation is idempotent, so a week of overlap costs time, not duplicates, and a missed night is caught up.
    suggestions_generate_nightly(since=timezone.now() - timedelta(days=conf.get("SUGGEST_NIGHTLY_LOOKBACK_DAYS")))
