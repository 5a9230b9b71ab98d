"""Reads for the triggers app: what the rules may look at for a message, the enabled rules, and the
messages still waiting for a sentiment score."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from agents.hours import business_now, team_is_open, teams_hours
from agents.models import Team
from agents.selectors import team_default
from chat.db import ReadEvery
from chat.models import NEGATIVE_FEEDBACK_VALUES, Conversation, Message
from nlp.embeddings import embed, text_vector, text_vectors
from triggers.engine import ConversationContext, CustomerContext, MessageContext, RuleSet
from triggers.models import TriggerRule
from triggers.vectors import EmbeddingMemo

# How much of the conversation the engine sees: enough for "the last 3 messages", rephrasing and
# "the bot repeated itself", without reading long conversations on every message.
HISTORY_WINDOW = 20

# Texts the admin's test panel embeds (triggers.rule_testing), kept for its next run.
message_vectors = EmbeddingMemo(embed, size=4096)


def rules_enabled() -> QuerySet[TriggerRule]:
    """The rules that run, with the teams their actions name."""
    return TriggerRule.objects.filter(enabled=True).select_related("team", "notify_team")


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


def teams_open(*, at: dt.datetime) -> tuple[bool | None, dict[str, bool]]:
    """(is the default team open, each team with business hours by slug).

    A rule without a team hands off to the default team, so its "business hours" are that team's
    (None when it has no hours): "closed" must not wait for every team to close.
    """
    teams, default_slug = teams_with_hours()
    by_slug = {team.slug: team_is_open(team=team, at=at) for team in teams}
    return (by_slug.get(default_slug) if default_slug else None), by_slug


def _teams_with_hours() -> tuple[list[Team], str | None]:
    # The teams with their hours come from agents.hours' per-process read (shared with the handoff path,
    # and read again at once when this process edits them); only the default team is read here.
    teams = [team for team in teams_hours().values() if team.business_hours.all()]
    default = team_default()
    return teams, default.slug if default else None


# A query or two on every message otherwise; an edit of a team's hours reaches the rules within seconds.
teams_with_hours = ReadEvery(_teams_with_hours, seconds=5.0)


def triggers_context_build(
    *,
    message: Message,
    ruleset: RuleSet | None = None,
    vector: Any = None,
    now: dt.datetime | None = None,
    conversation: Conversation | None = None,
) -> tuple[MessageContext, ConversationContext, CustomerContext]:
    """Read what the rules may look at: the message, the recent conversation, the customer.

    Queries: the conversation with its customer (unless given), then one statement for the counts and
    the recent messages (see `triggers_inputs_read`); the teams' hours only when a rule reads business
    hours (cached per process for a few seconds). The embedding model runs only when a rule needs
    vectors (this message, plus the visitor's recent ones for "rephrasing"; nlp.embeddings keeps them).
    """
    inputs = triggers_inputs_read(message=message, ruleset=ruleset, vector=vector, now=now, conversation=conversation)
    return inputs.contexts


# What the rules read about a message besides the message itself, in one round trip (each ORM query costs
# about a millisecond of CPU to compile and run, and this runs twice per message: on arrival and after
# scoring): the rules that already fired for it, its conversation's counts up to it, and the
# HISTORY_WINDOW messages before it, newest first (one row per message; one row of NULLs when none).
_INPUTS_SQL = """
SELECT
    ARRAY(SELECT f.rule_id FROM triggers_triggerfiring f WHERE f.message_id = %(message)s AND f.rule_id IS NOT NULL),
    counts.total, counts.visitor, counts.negative_feedback,
    recent.seq, recent.sender, recent.text, recent.sentiment, recent.metadata, recent.created_at
FROM (
    SELECT count(*) AS total,
        count(*) FILTER (WHERE m.sender = %(visitor)s) AS visitor,
        count(*) FILTER (WHERE m.sender = %(bot)s AND (m.metadata -> 'feedback') = ANY(%(negative)s::jsonb[]))
            AS negative_feedback
    FROM chat_message m WHERE m.conversation_id = %(conversation)s AND m.seq <= %(seq)s
) AS counts
LEFT JOIN LATERAL (
    SELECT m.seq, m.sender, m.text, m.sentiment, m.metadata, m.created_at
    FROM chat_message m WHERE m.conversation_id = %(conversation)s AND m.seq < %(seq)s
    ORDER BY m.seq DESC LIMIT %(window)s
) AS recent ON true
ORDER BY recent.seq DESC
"""
_NEGATIVE_FEEDBACK_JSON = [json.dumps(value) for value in NEGATIVE_FEEDBACK_VALUES]


def _inputs_query(*, message: Message, conversation_id: int) -> tuple[set[int], dict[str, int], list[dict]]:
    """(rule ids already fired for the message, its counts, the recent messages oldest first as dicts)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INPUTS_SQL,
            {
                "message": message.pk,
                "conversation": conversation_id,
                "seq": message.seq,
                "visitor": Message.Sender.VISITOR,
                "bot": Message.Sender.BOT,
                "negative": _NEGATIVE_FEEDBACK_JSON,
                "window": HISTORY_WINDOW,
            },
        )
        rows = cursor.fetchall()
    fired, total, visitor, negative_feedback = rows[0][:4]
    counts = {"total": total, "visitor": visitor, "negative_feedback": negative_feedback}
    history = [
        {
            "seq": seq,
            "sender": sender,
            "text": text,
            "sentiment": sentiment,
            # jsonb arrives as text (Django's psycopg setup leaves decoding to JSONField).
            "metadata": json.loads(metadata) if isinstance(metadata, str) else metadata,
            "created_at": created_at,
        }
        for *_, seq, sender, text, sentiment, metadata, created_at in reversed(rows)
        if seq is not None
    ]
    return set(fired), counts, history


@dataclass(frozen=True)
class TriggerInputs:
    contexts: tuple[MessageContext, ConversationContext, CustomerContext]
    fired_rule_ids: set[int]  # the rules that already fired for the message
    # The HISTORY_WINDOW messages before it, oldest first, as dicts (seq, sender, text, sentiment, metadata,
    # created_at): the caller may have a use for them too (the bot's history).
    recent: tuple[dict, ...]


def triggers_inputs_read(
    *,
    message: Message,
    ruleset: RuleSet | None = None,
    vector: Any = None,
    now: dt.datetime | None = None,
    conversation: Conversation | None = None,
) -> TriggerInputs:
    """`triggers_context_build`'s contexts, the rules that already fired for the message, its recent messages."""
    at_now = now is None
    now = now or timezone.now()
    if conversation is None:
        conversation = Conversation.objects.select_related("customer").get(pk=message.conversation_id)
    fired, counts, history = _inputs_query(message=message, conversation_id=conversation.pk)
    visitor_before = [m for m in history if m["sender"] == Message.Sender.VISITOR]
    bot_messages = [m for m in history if m["sender"] == Message.Sender.BOT]
    visitor_text_by_seq = {m["seq"]: m["text"] for m in visitor_before}

    # The visitor has been waiting since their oldest message that nobody has answered yet.
    waiting_since = message.created_at
    for earlier in reversed(history):
        if earlier["sender"] != Message.Sender.VISITOR:
            break
        waiting_since = earlier["created_at"]

    business_open, by_team = None, {}
    if ruleset is not None and ruleset.needs_business_hours:
        business_open, by_team = teams_open(at=business_now() if at_now else now)

    previous_texts = tuple(m["text"] for m in visitor_before[-5:])
    previous_vectors = None
    # Each text embedded alone and kept by nlp.embeddings: the message's vector is the one sentiment and
    # retrieval use, the previous messages' were computed when they arrived.
    if ruleset is not None and ruleset.needs_message_vector and vector is None:
        vector = text_vector(message.text)
    if ruleset is not None and ruleset.needs_previous_vectors and previous_texts:
        previous_vectors = text_vectors(list(previous_texts))

    metadata = message.metadata or {}
    message_context = MessageContext(
        text=message.text,
        sentiment=message.sentiment,
        is_explicit_button=bool(metadata.get("handoff_button")),
        vector=vector,
    )
    conversation_context = ConversationContext(
        status=conversation.status,
        channel=conversation.channel,
        visitor_message_count=counts["visitor"],
        message_count=counts["total"],
        previous_visitor_sentiments=tuple(m["sentiment"] for m in visitor_before if m["sentiment"] is not None),
        sentiment=conversation.sentiment,
        bot_confidences=tuple(_confidence(m["metadata"]) for m in bot_messages),
        bot_texts=tuple(m["text"] for m in bot_messages),
        bot_questions=tuple(visitor_text_by_seq.get((m["metadata"] or {}).get("reply_to"), "") for m in bot_messages),
        previous_visitor_texts=previous_texts,
        previous_visitor_vectors=previous_vectors,
        negative_feedback_count=counts["negative_feedback"],
        waiting_seconds=max(0.0, (now - waiting_since).total_seconds()),
        age_seconds=max(0.0, (now - conversation.created_at).total_seconds()),
        business_hours_open=business_open,
        teams_open=by_team,
        tags=tuple(conversation.tags or ()),
    )
    customer_context = CustomerContext(attributes=conversation.customer.attributes or {})
    return TriggerInputs((message_context, conversation_context, customer_context), fired, tuple(history))


def _confidence(metadata: dict | None) -> float | None:
    """The bot's answers carry metadata["confidence"] in 0..1; a declined answer counts as 0."""
    metadata = metadata or {}
    value = metadata.get("confidence")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if metadata.get("declined"):
        return 0.0
    return None
