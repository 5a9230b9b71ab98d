"""Celery tasks of the triggers app: thin, they take ids and call services."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from triggers.selectors import messages_unscored

logger = logging.getLogger(__name__)

# Visitor messages the sweep picks up: old enough that their own task should have run
# (settings.SENTIMENT_LOST_AFTER_SECONDS), young enough that scoring them still matters for live rules
# and reports.
SWEEP_WITHIN = dt.timedelta(days=2)
SWEEP_BATCH = 500


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
)
def score_message_sentiment(message_id: int, score: float | None = None) -> None:
    """Score a visitor message (unless `score` is given), update its conversation, run the sentiment
    rules (may hand off)."""
    from triggers.services import message_sentiment_score  # noqa: PLC0415 - Celery idiom: services import tasks

    message_sentiment_score(message_id=message_id, score=score)


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError, ConnectionError),
    retry_backoff=True,
    max_retries=3,
)
def score_unscored_messages() -> int:
    """Beat task: enqueue scoring for visitor messages the worker missed (it was down, or the
    enqueue failed). Idempotent: scoring a message twice stores the same score and logs nothing new."""
    lost_after = dt.timedelta(seconds=settings.SENTIMENT_LOST_AFTER_SECONDS)
    message_ids = messages_unscored(older_than=lost_after, newer_than=SWEEP_WITHIN, limit=SWEEP_BATCH)
    for message_id in message_ids:
        transaction.on_commit(lambda message_id=message_id: score_message_sentiment.delay(message_id))
    if message_ids:
        logger.info("Queued %d visitor messages that had no sentiment score yet", len(message_ids))
    return len(message_ids)


@shared_task(ignore_result=True, time_limit=120)
def replay_rule(job_id: str, rule_data: dict) -> None:
    """Replay a draft rule over the last 30 days; the admin page polls the job's progress."""
    from triggers.replay import replay_job_run  # noqa: PLC0415 - Celery idiom: the service imports the task

    replay_job_run(job_id=job_id, rule_data=rule_data)
