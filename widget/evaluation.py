"""`evaluate handoff`: each text as the first visitor message of a fresh conversation, through
the same pipeline the live chat runs (widget.pipeline: trigger rules, the bot, sentiment scoring,
which runs inline when tasks are eager), scored on whether the conversation was handed off."""

import statistics
import time
from collections.abc import Callable

from chat.models import Conversation, Message
from chat.services import conversation_start, message_create
from knowledge.evaluation import percentile_ms
from triggers.evaluation import handoff_report
from widget.pipeline import handle_visitor_message


def evaluate_handoff(rows: list[dict], *, progress: Callable[[int, int], None] | None = None) -> dict:
    decided, timings = [], []
    for number, row in enumerate(rows, start=1):
        conversation = conversation_start()
        started = time.perf_counter()
        message, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=row["text"])
        handle_visitor_message(message=message)
        timings.append((time.perf_counter() - started) * 1000)
        status = Conversation.objects.values_list("status", flat=True).get(pk=conversation.pk)
        decided.append(status in (Conversation.Status.QUEUED, Conversation.Status.ASSIGNED))
        conversation.customer.delete()  # the evaluation leaves no conversations behind
        if progress and number % 500 == 0:
            progress(number, len(rows))
    report = handoff_report(rows, decided)
    report["p50_ms"] = round(statistics.median(timings), 1)
    report["p95_ms"] = percentile_ms(timings, 0.95)
    return report
