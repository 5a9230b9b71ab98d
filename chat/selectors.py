"""Reads for conversations and messages."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from chat.models import Conversation, Message

RESUME_BATCH_SIZE = 200


def messages_after(*, conversation: Conversation, after_seq: int, limit: int = RESUME_BATCH_SIZE) -> list[Message]:
    """Messages with seq > after_seq, in seq order, at most `limit` (the caller pages on the last seq)."""
    return list(
        Message.objects.filter(conversation=conversation, seq__gt=after_seq)
        .select_related("author__agent")
        .order_by("seq")[:limit]
    )


def conversation_history_for_bot(*, conversation: Conversation, before_seq: int, limit: int = 10) -> list[dict]:
    """The last few turns before `before_seq`, oldest first, as {"sender", "text"} (knowledge.answers' history)."""
    rows = (
        Message.objects.filter(
            conversation=conversation,
            seq__lt=before_seq,
            sender__in=[Message.Sender.VISITOR, Message.Sender.BOT, Message.Sender.AGENT],
        )
        .order_by("-seq")
        .values_list("sender", "text")[:limit]
    )
    return [{"sender": sender, "text": text} for sender, text in reversed(rows)]


def message_with_client_id(*, conversation_id: int, client_id: str) -> Message | None:
    """The message a client already sent with this idempotency key, if any."""
    return Message.objects.filter(conversation_id=conversation_id, client_id=client_id).first()


def messages_unhandled(*, older_than: dt.timedelta, newer_than: dt.timedelta, limit: int) -> list[int]:
    """Visitor messages the pipeline never finished with (a process died, the broker was down),
    oldest first: at most one per conversation, since answering one answers its earlier ones in order."""
    now = timezone.now()
    rows = (
        Message.objects.filter(
            sender=Message.Sender.VISITOR,
            handled_at__isnull=True,
            created_at__lt=now - older_than,
            created_at__gt=now - newer_than,
        )
        .order_by("created_at")
        .values_list("id", "conversation_id")[:limit]
    )
    latest: dict[int, int] = {}
    for message_id, conversation_id in rows:
        latest[conversation_id] = message_id
    return list(latest.values())


def messages_unhandled_up_to(*, conversation_id: int, seq: int) -> list[Message]:
    """A conversation's visitor messages up to `seq` still waiting for the pipeline, in the order sent,
    each with the conversation and its customer as they were when read."""
    return list(
        Message.objects.filter(
            conversation_id=conversation_id, sender=Message.Sender.VISITOR, handled_at__isnull=True, seq__lte=seq
        )
        .select_related("conversation__customer")
        .order_by("seq")
    )
