"""Reads for the triggers app: what fired in a conversation, which messages still need a score."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from chat.models import Conversation, Message
from triggers.models import TriggerFiring


def messages_unscored(*, older_than: dt.timedelta, newer_than: dt.timedelta, limit: int) -> list[int]:
    """Visitor messages still without a score (the worker was down or the enqueue failed), oldest first."""
    now = timezone.now()
    return list(
        Message.objects.filter(
            sender=Message.Sender.VISITOR,
            sentiment__isnull=True,
            created_at__lt=now - older_than,
            created_at__gt=now - newer_than,
        )
        .order_by("created_at")
        .values_list("id", flat=True)[:limit]
    )


def conversation_trigger_firings(*, conversation: Conversation) -> QuerySet[TriggerFiring]:
    """Every rule that fired in a conversation, newest first (for the agent's context panel)."""
    return TriggerFiring.objects.filter(conversation=conversation).select_related("message")
