"""The reports' outcome inputs, rebuilt from the rows they summarise.

The write path keeps them current (chat.services.message_create for the bot's answers,
handoff.services for transitions and ratings: see chat.models.Conversation and
handoff.models.Handoff). This is their definition in SQL, run by the backfill migration, `manage.py
rebuild_report_facts` and `manage.py seed_reports` (which writes rows with COPY, past the services);
a test checks that the write path leaves nothing for it to change.
"""

from __future__ import annotations

from django.db import connection, transaction

from chat.models import Conversation, Message
from handoff.models import Handoff, HandoffEvent, SatisfactionRating

_CONVERSATIONS_SQL = """
WITH target AS (SELECT id FROM {conversation} WHERE %(all)s OR id = ANY(%(ids)s)),
ev AS (
    SELECT conversation_id,
           MIN(created_at) FILTER (WHERE action = 'resolve') AS first_resolved_at,
           MIN(created_at) FILTER (WHERE action = 'reopen') AS first_reopened_at
    FROM {event} WHERE action IN ('resolve', 'reopen') AND (%(all)s OR conversation_id = ANY(%(ids)s))
    GROUP BY conversation_id
),
h AS (
    SELECT conversation_id,
           bool_or(status = 'resolved') AS resolved,
           bool_or(status = 'resolved' AND bot_answered_before) AS resolved_after_bot,
           bool_or(first_assigned_at IS NULL AND status <> 'resolved') AS unserved,
           bool_or(first_assigned_at IS NULL AND status <> 'resolved' AND email_asked) AS unserved_email_ask
    FROM {handoff} WHERE %(all)s OR conversation_id = ANY(%(ids)s)
    GROUP BY conversation_id
),
bot AS (  -- the bot's latest answer in each conversation
    SELECT DISTINCT ON (conversation_id) conversation_id, ("metadata" -> 'declined') = 'true'::jsonb AS declined
    FROM {message} WHERE sender = 'bot' AND (%(all)s OR conversation_id = ANY(%(ids)s))
    ORDER BY conversation_id, seq DESC
),
r AS (
    SELECT conversation_id,
           (array_agg(score ORDER BY created_at DESC) FILTER (WHERE subject = 'bot'))[1] AS bot_score,
           (array_agg(score ORDER BY created_at DESC) FILTER (WHERE subject = 'human'))[1] AS human_score
    FROM {rating} WHERE %(all)s OR conversation_id = ANY(%(ids)s)
    GROUP BY conversation_id
)
UPDATE {conversation} AS c SET
    first_resolved_at = ev.first_resolved_at,
    first_reopened_at = ev.first_reopened_at,
    bot_answered = bot.conversation_id IS NOT NULL,
    bot_last_declined = COALESCE(bot.declined, false),
    handoff_resolved = COALESCE(h.resolved, false),
    handoff_resolved_after_bot = COALESCE(h.resolved_after_bot, false),
    handoff_unserved = COALESCE(h.unserved, false),
    handoff_unserved_email_ask = COALESCE(h.unserved_email_ask, false),
    csat_bot = r.bot_score,
    csat_human = r.human_score
FROM target
LEFT JOIN ev ON ev.conversation_id = target.id
LEFT JOIN h ON h.conversation_id = target.id
LEFT JOIN bot ON bot.conversation_id = target.id
LEFT JOIN r ON r.conversation_id = target.id
WHERE c.id = target.id
"""

# A resolved handoff's reopen: the first "reopen" of its conversation at or after it ended.
_HANDOFFS_SQL = """
UPDATE {handoff} AS h SET
    csat_score = (SELECT score FROM {rating} WHERE handoff_id = h.id),
    reopened_at = CASE WHEN h.status = 'resolved' THEN (
        SELECT MIN(created_at) FROM {event}
        WHERE conversation_id = h.conversation_id AND action = 'reopen' AND created_at >= h.ended_at
    ) END
WHERE %(all)s OR h.conversation_id = ANY(%(ids)s)
"""


def outcome_facts_rebuild(*, conversation_ids: list[int] | None = None) -> int:
    """Recompute the outcome inputs of these conversations (all with None); returns how many."""
    tables = {
        "conversation": Conversation,
        "event": HandoffEvent,
        "handoff": Handoff,
        "message": Message,
        "rating": SatisfactionRating,
    }
    names = {name: connection.ops.quote_name(model._meta.db_table) for name, model in tables.items()}
    params = {"all": conversation_ids is None, "ids": list(conversation_ids or [])}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CONVERSATIONS_SQL.format(**names), params)
        rebuilt = cursor.rowcount
        cursor.execute(_HANDOFFS_SQL.format(**names), params)
    return rebuilt
