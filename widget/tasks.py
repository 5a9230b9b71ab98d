"""Celery tasks of the widget: answering visitors as durable work (widget.answering)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    ignore_result=True,
    # Acknowledged only once answered: a worker killed mid-answer has the task redelivered to
    # another (the broker's visibility timeout, config/settings.py), and the reply is stored once.
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=8,
)
def answer_visitor_message(message_id: int) -> None:
    from widget.answering import visitor_message_answer  # noqa: PLC0415 - Celery idiom: services import tasks

    visitor_message_answer(message_id=message_id)


@shared_task(ignore_result=True, autoretry_for=(OperationalError, ConnectionError), retry_backoff=True, max_retries=3)
def answer_unhandled_messages() -> int:
    """Beat task: answer (or hand off) every visitor message whose answer was lost."""
    from widget.answering import answers_sweep  # noqa: PLC0415 - Celery idiom: services import tasks

    return answers_sweep()
