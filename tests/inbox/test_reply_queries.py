"""An agent's reply costs a fixed, small number of queries before the visitor hears it (issue 12):
the widget receives the reply once its transaction commits, so every query before that is latency."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Conversation, Customer, Message
from handoff.services import handoff_assign, handoff_request
from inbox.services import agent_reply
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_an_agents_reply_takes_a_fixed_number_of_queries(
    client, agent, queued_conversation, django_capture_on_commit_callbacks
):
    handoff_assign(handoff=queued_conversation.handoffs.get(), agent=agent)
    client.force_login(agent.user)
    url = f"/inbox/c/{queued_conversation.pk}/reply/"
    assert client.post(url, {"text": "Hi, Dana here."}, HTTP_HX_REQUEST="true").status_code == 204  # the first reply
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"conversation_{queued_conversation.pk}", channel)

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"text": "Your parcel left today."}, HTTP_HX_REQUEST="true")
    # The view: 1 session, 2 user, 3 agent with its team ids (the teams from agents.hours' per-process
    # cache), 4 the conversation with its customer (through the user's access). The claim: 5 lock the
    # conversation (read whole: the user may still act on it is checked on that row, no query), 6 its open
    # handoff. The message, its seq reserved from the row locked in 5: 7 bump it, 8 insert it. (The
    # author's name for the widget comes with the agent; the first reply's time is recorded once, not
    # again.) Plus the reply transaction's savepoint pair (BEGIN/COMMIT in production, not counted here).
    assert response.status_code == 204
    assert len(queries) == 10, "\n".join(query["sql"][:150] for query in queries.captured_queries)
    event = async_to_sync(layer.receive)(channel)["event"]
    assert (event["type"], event["sender"], event["text"]) == ("message", "agent", "Your parcel left today.")
    assert event["author"] == {"name": "Dana"}
    assert queued_conversation.messages.filter(sender=Message.Sender.AGENT).count() == 2


def received(layer, channel) -> list[dict]:
    """Every event waiting on the channel (the in-memory layer delivers at once)."""
    events = []
    while True:
        try:
            events.append(async_to_sync(asyncio.wait_for)(layer.receive(channel), 0.2)["event"])
        except TimeoutError:
            return events


def visitor_listening(conversation):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"conversation_{conversation.pk}", channel)
    return layer, channel


def test_the_reply_reaches_the_visitor_before_its_emailed_copy_is_queued(
    agent, queued_conversation, django_capture_on_commit_callbacks
):
    handoff_assign(handoff=queued_conversation.handoffs.get(), agent=agent)
    Customer.objects.filter(pk=queued_conversation.customer_id).update(email="ada@example.com")
    conversation = Conversation.objects.select_related("customer").get(pk=queued_conversation.pk)
    layer, channel = visitor_listening(conversation)
    with django_capture_on_commit_callbacks() as callbacks:
        agent_reply(agent_user=agent.user, conversation=conversation, text="On its way.")
    callbacks[0]()  # the first thing done once the reply commits
    assert [(e["type"], e.get("text")) for e in received(layer, channel)] == [("message", "On its way.")]
    assert len(callbacks) == 2, "then the emailed copy (email_reply_send_task)"


def test_replying_to_a_waiting_visitor_tells_them_before_the_others_hear_their_new_place(
    agent, queued_conversation, support_team, django_capture_on_commit_callbacks
):
    behind = ConversationFactory()
    handoff_request(conversation=behind, reason="x", team=support_team)
    layer, channel = visitor_listening(queued_conversation)
    _, behind_channel = visitor_listening(behind)
    with django_capture_on_commit_callbacks() as callbacks:
        agent_reply(agent_user=agent.user, conversation=queued_conversation, text="Dana here.")
    callbacks[0]()
    heard = [(e["type"], e.get("text") or e.get("status")) for e in received(layer, channel)]
    assert heard == [
        ("message", "Dana has joined the conversation."),
        ("status", "assigned"),
        ("message", "Dana here."),
    ]
    assert received(layer, behind_channel) == [], "the queue update for the others comes after"
