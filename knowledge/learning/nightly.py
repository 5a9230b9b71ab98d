"""The nightly run (Celery beat): every recent conversation, then the content gaps of the period.

It catches what the resolve hook never sees (a thumbs down with no handoff, a question nobody
answered). Generation is idempotent, so overlapping periods cost time, not duplicates.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils import timezone

from chat.models import Message
from knowledge.learning.gaps import content_gap_proposals
from knowledge.learning.generation import suggestions_generate_for_conversation
from knowledge.learning.recording import GenerationReport, proposals_record

logger = logging.getLogger(__name__)


def suggestions_generate_nightly(
    *, since: datetime, until: datetime | None = None, chat_model: Any = None
) -> GenerationReport:
    """Every conversation with bot or agent messages in the period, then content gaps over it."""
    until = until or timezone.now()
    report = GenerationReport()
    conversation_ids = (
        Message.objects.filter(
            created_at__gte=since, created_at__lt=until, sender__in=[Message.Sender.BOT, Message.Sender.AGENT]
        )
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()
    )
    for conversation_id in sorted(conversation_ids):
        report.merge(suggestions_generate_for_conversation(conversation_id=conversation_id, chat_model=chat_model))
    proposals_record(proposals=content_gap_proposals(since=since, until=until), report=report)
    logger.info("Training suggestions since %s: %s", since, report.as_dict())
    return report
