"""The outcome inputs kept at write time give the cohorts the definition gives.

DEFINITION_SQL below is the cohort query as it read every message, event, handoff and rating of the
period (reports/metrics.py before the inputs were kept on the conversation): the fast path must
put every conversation in the same cohort, for the same reason, whatever the period.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from agents.models import Agent
from chat.models import Conversation, Message
from chat.services import conversation_start, message_create
from handoff.models import Handoff, HandoffEvent
from handoff.services import (
    conversation_reopen,
    handoff_assign,
    handoff_cancel,
    handoff_hand_back,
    handoff_request,
    handoff_resolve,
    handoff_return_to_queue,
    handoff_transfer,
    rating_submit,
)
from reports import metrics
from reports.facts import outcome_facts_rebuild
from reports.metrics import Cohort, Period
from tests.factories import AgentFactory, UserFactory
from tests.reports.conftest import NOW
from tests.reports.test_metrics import DAY, one_of_each_cohort
from triggers.selectors import NEGATIVE_FEEDBACK_VALUES
from widget.services import message_feedback_set

DEFINITION_SQL = """
WITH c AS MATERIALIZED (
    SELECT id, status, created_at, last_activity_at FROM chat_conversation
    WHERE created_at >= %(start)s AND created_at < %(end)s AND (%(team)s::bigint IS NULL OR team_id = %(team)s)
),
ev AS (
    SELECT conversation_id,
           MIN(created_at) FILTER (WHERE action = 'resolve') AS first_resolved_at,
           MIN(created_at) FILTER (WHERE action = 'reopen') AS reopened_at
    FROM handoff_handoffevent WHERE conversation_id IN (SELECT id FROM c) GROUP BY conversation_id
),
h AS (
    SELECT conversation_id,
           bool_or(status = 'resolved') AS person_resolved,
           bool_or(status = 'resolved' AND bot_answered_before) AS bot_before_person,
           bool_or(first_assigned_at IS NULL AND status <> 'resolved') AS unserved,
           bool_or(first_assigned_at IS NULL AND status <> 'resolved' AND email_asked) AS unserved_email_ask
    FROM handoff_handoff WHERE conversation_id IN (SELECT id FROM c) GROUP BY conversation_id
),
bot AS (
    SELECT conversation_id, MAX(seq) AS last_seq FROM chat_message
    WHERE sender = 'bot' AND conversation_id IN (SELECT id FROM c) GROUP BY conversation_id
),
declined AS (
    SELECT conversation_id, MAX(seq) AS last_seq FROM chat_message
    WHERE ("metadata" -> 'declined') = 'true'::jsonb AND sender = 'bot' AND conversation_id IN (SELECT id FROM c)
    GROUP BY conversation_id
),
thumbs AS (
    SELECT DISTINCT conversation_id FROM chat_message
    WHERE sender = 'bot' AND metadata ->> 'feedback' = ANY(%(negative)s) AND conversation_id IN (SELECT id FROM c)
)
SELECT c.id,
    CASE
        WHEN ev.first_resolved_at IS NOT NULL AND ev.reopened_at < ev.first_resolved_at + %(reopen)s THEN 'reopened'
        WHEN h.person_resolved AND h.bot_before_person THEN 'bot_then_human'
        WHEN h.person_resolved THEN 'human_only'
        WHEN ev.first_resolved_at IS NOT NULL AND bot.last_seq IS NOT NULL
             AND declined.last_seq IS DISTINCT FROM bot.last_seq AND thumbs.conversation_id IS NULL THEN 'bot_only'
        WHEN c.status <> 'resolved' AND c.last_activity_at >= %(idle_since)s THEN 'in_progress'
        ELSE 'abandoned'
    END,
    CASE
        WHEN h.unserved_email_ask THEN 'after_email_ask'
        WHEN h.unserved THEN 'while_queued'
        WHEN declined.last_seq = bot.last_seq THEN 'after_decline'
        WHEN thumbs.conversation_id IS NOT NULL THEN 'after_thumbs_down'
        ELSE 'left'
    END
FROM c
LEFT JOIN ev ON ev.conversation_id = c.id
LEFT JOIN h ON h.conversation_id = c.id
LEFT JOIN bot ON bot.conversation_id = c.id
LEFT JOIN declined ON declined.conversation_id = c.id
LEFT JOIN thumbs ON thumbs.conversation_id = c.id
"""


def cohorts_by_definition(period: Period, *, now: dt.datetime) -> dict[int, tuple[str, str]]:
    params = {
        "start": period.start,
        "end": period.end,
        "team": period.team.pk if period.team else None,
        "negative": list(NEGATIVE_FEEDBACK_VALUES),
        "reopen": dt.timedelta(days=settings.REPORTS_REOPEN_DAYS),
        "idle_since": now - dt.timedelta(minutes=settings.REPORTS_ABANDONED_AFTER_MINUTES),
    }
    with connection.cursor() as cursor:
        cursor.execute(DEFINITION_SQL, params)
        return {pk: (cohort, reason) for pk, cohort, reason in cursor.fetchall()}


CONVERSATION_INPUTS = [
    "first_resolved_at",
    "first_reopened_at",
    "bot_answered",
    "bot_last_declined",
    "handoff_resolved",
    "handoff_resolved_after_bot",
    "handoff_unserved",
    "handoff_unserved_email_ask",
    "csat_bot",
    "csat_human",
]


def stored_inputs() -> tuple[dict, dict]:
    conversations = {c.pk: model_to_dict(c, fields=CONVERSATION_INPUTS) for c in Conversation.objects.all()}
    handoffs = {h.pk: model_to_dict(h, fields=["csat_score", "reopened_at"]) for h in Handoff.objects.all()}
    return conversations, handoffs


def bot_says(conversation, text="Here is how.", **metadata):
    return message_create(conversation=conversation, sender=Message.Sender.BOT, text=text, metadata=metadata)[0]


def visitor_says(conversation, text="Where is my parcel?"):
    message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=text)


@pytest.fixture
def lived_through_the_services(agent, support_team, settings):
    """A conversation of each kind, every step through the services that run in production."""
    dana = agent
    sam = AgentFactory(user=UserFactory(username="sam", first_name="Sam"), teams=[support_team])
    Agent.objects.update(status=Agent.Status.ONLINE, max_concurrent=5)
    c = {}

    c["bot_only"] = conversation_start()
    visitor_says(c["bot_only"])
    bot_says(c["bot_only"], declined=False)
    handoff_resolve(conversation=c["bot_only"], reason="The visitor ended the chat")
    rating_submit(conversation=c["bot_only"], score=4)

    c["declined"] = conversation_start()
    visitor_says(c["declined"])
    bot_says(c["declined"], declined=False)
    bot_says(c["declined"], "I can't answer that.", declined=True)
    handoff_resolve(conversation=c["declined"], reason="No activity")

    c["answered_after_a_decline"] = conversation_start()
    bot_says(c["answered_after_a_decline"], declined=True)
    bot_says(c["answered_after_a_decline"], declined=False)  # the latest answer counts
    handoff_resolve(conversation=c["answered_after_a_decline"])

    c["thumbs_down"] = conversation_start()
    answer = bot_says(c["thumbs_down"], declined=False)
    message_feedback_set(conversation=c["thumbs_down"], seq=answer.seq, value="down")
    handoff_resolve(conversation=c["thumbs_down"])

    c["thumbs_taken_back"] = conversation_start()
    answer = bot_says(c["thumbs_taken_back"], declined=False)
    message_feedback_set(conversation=c["thumbs_taken_back"], seq=answer.seq, value="down")
    message_feedback_set(conversation=c["thumbs_taken_back"], seq=answer.seq, value="up")
    handoff_resolve(conversation=c["thumbs_taken_back"])

    c["bot_then_human_reopened"] = conversation_start()
    bot_says(c["bot_then_human_reopened"], declined=False)
    handoff = handoff_request(conversation=c["bot_then_human_reopened"], reason="Visitor asked")
    handoff_assign(handoff=handoff, agent=dana)
    handoff_return_to_queue(handoff=handoff, reason="Dana went offline")
    handoff_assign(handoff=handoff, agent=sam)
    message_create(conversation=c["bot_then_human_reopened"], sender=Message.Sender.AGENT, text="Hi, I'm Sam.")
    handoff_resolve(conversation=c["bot_then_human_reopened"], actor=sam.user)
    rating_submit(conversation=c["bot_then_human_reopened"], score=5)
    conversation_reopen(conversation=c["bot_then_human_reopened"])
    handoff_resolve(conversation=c["bot_then_human_reopened"], reason="Answered by the bot")  # a second one

    c["human_only_transferred"] = conversation_start()
    handoff = handoff_request(conversation=c["human_only_transferred"], reason="Visitor asked")
    handoff_transfer(handoff=handoff, to_agent=sam)
    handoff_resolve(conversation=c["human_only_transferred"], actor=sam.user)
    rating_submit(conversation=c["human_only_transferred"], score=2)

    c["queued"] = conversation_start()
    visitor_says(c["queued"])
    handoff_request(conversation=c["queued"], reason="Visitor asked")

    c["cancelled_then_served"] = conversation_start()
    handoff_request(conversation=c["cancelled_then_served"], reason="Visitor asked")
    handoff_cancel(conversation=c["cancelled_then_served"])  # unserved, for good
    handoff = handoff_request(conversation=c["cancelled_then_served"], reason="Visitor asked again")
    handoff_assign(handoff=handoff, agent=dana)
    handoff_hand_back(conversation=c["cancelled_then_served"], actor=dana.user)

    Agent.objects.update(status=Agent.Status.AWAY)  # nobody can answer: the visitor is asked for an email
    settings.HANDOFF_EMAIL_ASK_AFTER_SECONDS = 0
    c["email"] = conversation_start()
    bot_says(c["email"], declined=True)
    handoff_request(conversation=c["email"], reason="Visitor asked")
    return c


def test_the_services_keep_the_inputs_as_the_rows_define_them(lived_through_the_services):
    kept = stored_inputs()

    outcome_facts_rebuild()

    assert stored_inputs() == kept
    conversations, handoffs = kept
    reopened = lived_through_the_services["bot_then_human_reopened"]
    assert conversations[reopened.pk]["first_reopened_at"] is not None  # not vacuous: the inputs were set
    assert any(h["reopened_at"] for h in handoffs.values()) and any(h["csat_score"] for h in handoffs.values())
    assert conversations[lived_through_the_services["email"].pk]["handoff_unserved_email_ask"] is True


def test_the_cohorts_from_the_kept_inputs_are_the_definitions(lived_through_the_services):
    now = lived_through_the_services["email"].created_at + dt.timedelta(minutes=5)
    period = Period(start=now - dt.timedelta(days=1), end=now)
    by_id = {c.pk: name for name, c in lived_through_the_services.items()}

    fast = metrics.conversation_cohorts(period=period, now=now)

    assert fast == cohorts_by_definition(period, now=now)
    assert {by_id[pk]: cohort for pk, (cohort, _) in fast.items()} == {
        "bot_only": Cohort.BOT_ONLY,
        "declined": Cohort.ABANDONED,
        "answered_after_a_decline": Cohort.BOT_ONLY,
        "thumbs_down": Cohort.ABANDONED,
        "thumbs_taken_back": Cohort.BOT_ONLY,
        "bot_then_human_reopened": Cohort.REOPENED,
        "human_only_transferred": Cohort.HUMAN_ONLY,
        "queued": Cohort.IN_PROGRESS,
        "cancelled_then_served": Cohort.IN_PROGRESS,
        "email": Cohort.IN_PROGRESS,
    }
    later = now + dt.timedelta(minutes=settings.REPORTS_ABANDONED_AFTER_MINUTES + 1)  # the unfinished ones left
    assert metrics.conversation_cohorts(period=period, now=later) == cohorts_by_definition(period, now=later)


@pytest.mark.parametrize(
    "start_days, end_days",
    [
        (30, 0),  # the usual period
        (7, 0),
        (3, 2),  # the reopened conversation's start is inside, its reopen after the end
        (20, 3),  # a custom period in the past: the late reopen and nothing recent
        (1, 0),  # exactly one day: the conversations started at NOW - DAY are on its first instant
        (90, 30),  # only the conversation before the usual period
    ],
)
def test_the_fast_cohorts_equal_the_definition_for_any_period(story, start_days, end_days):
    one_of_each_cohort(story)
    edge = story.conversation(started=DAY + 1)  # a minute before a one-day period starts: outside it
    story.bot_answer(edge)
    story.resolve(edge, at=DAY - 1)
    exactly_late = story.conversation(started=9 * DAY)  # reopened exactly REPORTS_REOPEN_DAYS later: a new need
    story.bot_answer(exactly_late)
    story.resolve(exactly_late, at=9 * DAY)
    story.event(exactly_late, HandoffEvent.Action.REOPEN, at=2 * DAY)
    period = Period(start=NOW - dt.timedelta(days=start_days), end=NOW - dt.timedelta(days=end_days))

    fast = metrics.conversation_cohorts(period=period, now=NOW)

    assert fast == cohorts_by_definition(period, now=NOW)
    if (start_days, end_days) == (30, 0):
        assert fast[exactly_late.pk][0] == Cohort.BOT_ONLY and edge.pk in fast


def test_the_team_filter_gives_the_definitions_cohorts(story):
    support, billing = story.team("Support"), story.team("Billing")
    for team in (support, billing, support):
        conversation = story.conversation(started=DAY)
        story.bot_answer(conversation)
        story.handoff(conversation, requested=DAY - 5, assigned=DAY - 6, ended=DAY - 20, team=team)
    period = Period.last(30, now=NOW, team=support)

    assert metrics.conversation_cohorts(period=period, now=NOW) == cohorts_by_definition(period, now=NOW)
    assert len(cohorts_by_definition(period, now=NOW)) == 2


def test_a_bot_answer_keeps_its_inputs_without_a_query_of_its_own(db, django_assert_num_queries):
    conversation = conversation_start()
    visitor_says(conversation)
    with CaptureQueriesContext(connection) as visitor:  # lock and read last_seq, the UPDATE, the INSERT
        visitor_says(conversation, "and another thing")
    with django_assert_num_queries(len(visitor.captured_queries)):
        bot_says(conversation, declined=True)

    conversation.refresh_from_db()
    assert conversation.bot_answered and conversation.bot_last_declined
