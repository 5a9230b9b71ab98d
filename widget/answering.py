"""Where and when a stored visitor message goes through the pipeline, so that no acknowledged
question is left unanswered by a restart, a killed worker or a broker outage.

- With REDIS_URL (HANDOFF_ANSWER_IN_WORKERS, on by default there) it is a Celery task: acks late and
  rejected on worker loss (config/settings.py), so a worker killed mid-answer has it redelivered, any
  number of workers share the load, and the web process's acks never wait for answers' CPU.
- Without (a laptop), or with HANDOFF_ANSWER_IN_WORKERS=0, it runs in the web process's bot threads.
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
import datetime as dt
import logging
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
    locked = _conversation_lock(message_id)
    if locked is None:
        return
    conversation_id, seq = locked
    try:
        for n, pending in enumerate(messages_unhandled_up_to(conversation_id=conversation_id, seq=seq)):
            # The conversation as read with the messages, under the lock: current for the first one
            # only, since handling it may change the conversation.
            pipeline.handle_visitor_message(message=pending, conversation=pending.conversation if n == 0 else None)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, conversation_id % 2**31])


# The message, if it is a visitor's still unhandled, and its conversation's lock: one round trip. A
# session-level advisory lock: held across the pipeline's own transactions (the typing indicator and
# streamed tokens must go out before the reply commits), released by the connection closing if the
# process dies. Taken only for the row the WHERE lets through; what it waited for is read afterwards,
# by the next statement (this one's snapshot predates the wait).
_LOCK_SQL = """
SELECT conversation_id, seq, pg_advisory_lock(%s, mod(conversation_id, 2147483648)::integer)
FROM chat_message WHERE id = %s AND sender = %s AND handled_at IS NULL
"""


def _conversation_lock(message_id: int) -> tuple[int, int] | None:
    """(conversation id, seq) of an unhandled visitor message, its conversation locked; else None."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [_LOCK_NAMESPACE, message_id, Message.Sender.VISITOR])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


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
