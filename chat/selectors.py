"""Reads for conversations and messages."""

from __future__ import annotations

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
