"""Celery tasks of the widget: answering visitors as durable work (widget.answering)."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from nlp import embeddings
from triggers.rule_cache import rules_compiled

logger = logging.getLogger(__name__)

# An answer that failed because PostgreSQL or Redis is away is tried again soon and often, so it
# comes within seconds of their return (issue 17: with Celery's backoff growing to 30 s, answers came
# 5-12 s after a 10 s PostgreSQL outage): after 1, 2, 4 s, then every 5 s, each up to a fifth sooner so
# that the answers which failed together do not all come back at once. 17 retries wait 61.6-77 s
# together, covering a minute-long outage; after that the answer sweep (widget.answering) takes over.
ANSWER_RETRY_ON = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
ANSWER_RETRY_MAX_DELAY_SECONDS = 5.0
ANSWER_RETRIES = 17


def answer_retry_delay(retries: int) -> float:
    """Seconds to wait before retry number `retries` + 1."""
    return min(ANSWER_RETRY_MAX_DELAY_SECONDS, 2.0**retries) * random.uniform(0.8, 1.0)


@shared_task(
    bind=True,
    ignore_result=True,
    # Acknowledged only once answered: a worker killed mid-answer has the task redelivered to
    # another (the broker's visibility timeout, config/settings.py), and the reply is stored once.
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=ANSWER_RETRIES,
)
def answer_visitor_message(self, message_id: int) -> None:
    from widget.answering import visitor_message_answer  # noqa: PLC0415 - Celery idiom: services import tasks

    try:
        visitor_message_answer(message_id=message_id)
    except ANSWER_RETRY_ON as exc:
        # Not autoretry_for with retry_backoff: its full jitter may retry at once or wait the whole cap.
        raise self.retry(exc=exc, countdown=answer_retry_delay(self.request.retries)) from exc


@shared_task(ignore_result=True, autoretry_for=(OperationalError, ConnectionError), retry_backoff=True, max_retries=3)
def answer_unhandled_messages() -> int:
    """Beat task: answer (or hand off) every visitor message whose answer was lost."""
    from widget.answering import answers_sweep  # noqa: PLC0415 - Celery idiom: services import tasks

    return answers_sweep()


@worker_process_init.connect
def _warm_up_before_the_first_answer(**_kwargs) -> None:
    """A pool process loads the embedding model and compiles the trigger rules (their phrases embedded)
    before it takes a task, not inside a visitor's answer: about a second of CPU per process (py-spy of a
    worker just started at saturation: 21 % compiling rules, 10 % loading the model). Connected when the
    worker imports its tasks, before it forks the pool."""
    if not settings.HANDOFF_ANSWER_IN_WORKERS:
        return
    try:
        embeddings.embed(["warm up"])
        rules_compiled()
    except Exception:  # the first answer loads what it needs instead
        logger.warning("The worker's warm-up failed", exc_info=True)
    finally:
        connection.close()
