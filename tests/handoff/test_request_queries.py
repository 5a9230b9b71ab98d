"""A handoff request costs a fixed, small number of queries (issue 12): the wait is estimated once per
request, the team's hours and holidays are read at most every few seconds per process, and a newcomer
at the end of the queue moves nobody else's place in line."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import BusinessHours
from chat.models import Message
from handoff.services import handoff_assign, handoff_request
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def asked(conversation):
    MessageFactory(conversation=conversation, text="Where is my parcel?")
    MessageFactory(conversation=conversation, sender="bot", text="It ships in 2 days.", metadata={"confidence": 0.4})
    return conversation


@pytest.fixture
def busy_team(open_team, make_agent):
    """Dana is online with her one slot taken: the team is open (so the estimate reads the handling
    times and the promised range), and routing finds nobody free."""
    dana = make_agent("Dana", capacity=1)
    handoff_assign(handoff=handoff_request(conversation=asked(ConversationFactory()), reason="first"), agent=dana)
    return open_team


def test_a_handoff_request_takes_a_fixed_number_of_queries(busy_team, django_capture_on_commit_callbacks):
    conversation = asked(ConversationFactory())
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        handoff = handoff_request(conversation=conversation, reason="Visitor asked for a person")
    # No savepoint inside the caller's transaction (the test's, here). 1 lock the conversation (with its
    # customer), 2 its open handoff (none); the default team, hours and holidays: cached per process; the
    # wait, once and before the insert: 3 online slots, 4 median handling time, 5 the promised range,
    # 6 the queue position; 7 the transcript (summary, sentiment trend and "the bot answered before?"
    # from one read); 8 insert the handoff with its promise; the transition: 9 the event row, 10 the
    # conversation with the reports' outcome inputs (one UPDATE); the visitor's notice (its seq from the
    # row locked in 1): 11 bump it, 12 insert it. Once committed: 13 "anyone behind the newcomer?" (no:
    # no queue update), routing: its savepoint, 14 a free agent (none: no handoff is locked), its release.
    assert len(queries) == 16, "\n".join(query["sql"][:150] for query in queries.captured_queries)
    notice = conversation.messages.filter(sender=Message.Sender.SYSTEM).get()
    assert notice.metadata["wait"]["position"] == 1 and "about 6 minutes" in notice.text
    assert handoff.wait_estimate_seconds == 6 * 60


def test_a_newcomer_ahead_of_the_queue_tells_those_behind_their_new_place(
    open_team, django_capture_on_commit_callbacks
):
    waiting = asked(ConversationFactory())
    handoff_request(conversation=waiting, reason="first")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"conversation_{waiting.pk}", channel)

    with django_capture_on_commit_callbacks(execute=True):
        handoff_request(conversation=asked(ConversationFactory()), reason="VIP", priority=5)

    event = async_to_sync(layer.receive)(channel)["event"]
    assert (event["type"], event["reason"], event["detail"]["position"]) == ("status", "Queue update", 2)


def test_a_change_to_the_teams_hours_applies_to_the_next_request_at_once(open_team):
    """The hours are cached per process, and forgotten when they change here."""
    handoff_request(conversation=asked(ConversationFactory()), reason="warm the cache")
    BusinessHours.objects.filter(team=open_team).delete()  # a queryset delete: each row's post_delete
    conversation = asked(ConversationFactory())
    handoff_request(conversation=conversation, reason="closed now")
    notice = conversation.messages.filter(sender=Message.Sender.SYSTEM).get()
    assert notice.metadata["wait"]["in_hours"] is False and notice.metadata["wait"]["hours"] == "no regular hours"
