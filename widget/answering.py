"""Where and when a stored visitor message goes through the pipeline, so that no acknowledged
question is left unanswered by a restart, a killed worker or a broker outage.

- By default it runs in the web process's bot threads: the lowest latency on one box.
- With HANDOFF_ANSWER_IN_WORKERS=1 (needs REDIS_URL) it is a Celery task: acks late and rejected on
  worker loss (config/settings.py), so a worker killed mid-answer has it redelivered, and any number
  of workers share the load.
- Either way the sweep (`answers_sweep`: beat's task with REDIS_URL, else a loop in the web process)
  hands every visitor message the pipeline never finished with back to the same code.

Exactly once: the pipeline marks the message handled in the transaction that stores the bot's reply
(widget.pipeline.bot_reply), conditionally, so a second run stores nothing. In order: the handlers
of one conversation take a PostgreSQL advisory lock (not the conversation's row lock, which would
make the visitor's next message and its ack wait for the bot) and answer its unhandled messages
oldest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection

from chat.db import database_sync_to_async
from chat.models import Message
from chat.selectors import messages_unhandled, messages_unhandled_up_to
from widget import pipeline
from widget.tasks import answer_visitor_message as answer_visitor_message_task

logger = logging.getLogger(__name__)

# How old a message still unhandled must be to count as lost, and how often the sweep looks:
# settings.HANDOFF_ANSWER_LOST_AFTER_SECONDS and HANDOFF_ANSWER_SWEEP_SECONDS.
SWEEP_WITHIN = dt.timedelta(days=1)
SWEEP_BATCH = 200
# The advisory lock's first key: this module's own namespace (the second is the conversation id).
_LOCK_NAMESPACE = 0x414E53  # "ANS"

# Bot answers (embedding the question, retrieval, maybe an LLM) get their own threads: in the
# shared pool they would queue the quick writes behind them, and acks would wait on answers.
_bot_executor: ThreadPoolExecutor | None = None


def bot_executor() -> ThreadPoolExecutor:
    global _bot_executor
    if _bot_executor is None:
        _bot_executor = ThreadPoolExecutor(max_workers=settings.WIDGET_BOT_THREADS, thread_name_prefix="widget-bot")
    return _bot_executor


def visitor_message_dispatch(*, message_id: int) -> None:
    """Hand a stored (committed) visitor message to whoever answers: a worker, or this thread.

    A broker that cannot take the task is logged, not raised: the message is stored and acked,
    and the sweep answers it once the broker is back.
    """
    if not settings.HANDOFF_ANSWER_IN_WORKERS:
        visitor_message_answer(message_id=message_id)
        return
    try:
        answer_visitor_message_task.delay(message_id)
    except Exception:
        logger.exception("Could not queue the answer to message %s; the answer sweep will", message_id)


def visitor_message_answer(*, message_id: int) -> None:
    """Run the pipeline for this message and any earlier one of its conversation still unhandled."""
    message = Message.objects.filter(pk=message_id, sender=Message.Sender.VISITOR).first()
    if message is None or message.handled_at is not None:
        return
    with _conversation_lock(message.conversation_id):
        for pending in messages_unhandled_up_to(conversation_id=message.conversation_id, seq=message.seq):
            pipeline.handle_visitor_message(message=pending)


@contextlib.contextmanager
def _conversation_lock(conversation_id: int) -> Iterator[None]:
    """A session-level advisory lock: held across the pipeline's own transactions (the typing
    indicator and streamed tokens must go out before the reply commits), released by the
    connection closing if the process dies."""
    key = conversation_id % 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, key])


def answers_sweep() -> int:
    """Send every visitor message the pipeline never finished with back to it; returns how many."""
    lost_after = dt.timedelta(seconds=settings.HANDOFF_ANSWER_LOST_AFTER_SECONDS)
    message_ids = messages_unhandled(older_than=lost_after, newer_than=SWEEP_WITHIN, limit=SWEEP_BATCH)
    for message_id in message_ids:
        visitor_message_dispatch(message_id=message_id)
    if message_ids:
        logger.warning("Answering %d visitor messages whose answer was lost", len(message_ids))
    return len(message_ids)


# --- The sweep inside a web process, when answering runs there (no workers, no beat) -----------

_local_sweeper: asyncio.Task | None = None


def local_sweeper_ensure() -> None:
    """Start this process's sweep loop on the running event loop, once (from a consumer)."""
    global _local_sweeper
    if not settings.WIDGET_ANSWER_SWEEP_IN_PROCESS:
        return
    if _local_sweeper is None or _local_sweeper.done():
        _local_sweeper = asyncio.get_running_loop().create_task(_sweep_forever())


async def _sweep_forever() -> None:
    sweep = database_sync_to_async(answers_sweep, thread_sensitive=False, executor=bot_executor())
    while True:
        try:
            await sweep()
        except Exception:  # the loop outlives a database outage
            logger.exception("The answer sweep failed; trying again shortly")
        await asyncio.sleep(settings.HANDOFF_ANSWER_SWEEP_SECONDS)
