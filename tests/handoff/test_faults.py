"""Presence and queue updates when processes die or transactions race (issue 17)."""

import datetime as dt
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from agents.models import Agent, AgentConnection
from handoff.presence import presence_sweep
from handoff.services import handoff_assign, handoff_request
from tests.factories import ConversationFactory


@pytest.mark.django_db
def test_an_agent_whose_web_process_crashed_becomes_away(make_agent):
    """The crash left the tab's row: it is no longer refreshed, so the sweep stops believing it."""
    dana = make_agent("Dana")
    long_ago = timezone.now() - dt.timedelta(minutes=10)
    Agent.objects.filter(pk=dana.pk).update(last_seen_at=long_ago)
    AgentConnection.objects.create(agent=dana, channel_name="specific..inbox!dead")
    AgentConnection.objects.filter(agent=dana).update(seen_at=long_ago)

    assert presence_sweep() == 1
    dana.refresh_from_db()
    assert dana.status == Agent.Status.AWAY
    assert not AgentConnection.objects.filter(agent=dana).exists()


@pytest.mark.django_db
def test_an_agent_with_a_live_tab_stays_online(make_agent):
    dana = make_agent("Dana")
    Agent.objects.filter(pk=dana.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=10))
    AgentConnection.objects.create(agent=dana, channel_name="specific..inbox!alive")  # seen just now
    assert presence_sweep() == 0
    dana.refresh_from_db()
    assert dana.status == Agent.Status.ONLINE


def status_events(layer, channel) -> list[dict]:
    events = []
    while True:
        try:
            envelope = async_to_sync(_receive_soon)(layer, channel)
        except TimeoutError:
            return events
        events.append(envelope["event"])


async def _receive_soon(layer, channel):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), 0.3)


@pytest.mark.django_db(transaction=True)
def test_a_visitor_an_agent_took_is_not_told_a_stale_queue_position(open_team, make_agent):
    """The first in line leaves the queue (transaction A: Sam takes them) while Dana takes the next
    (transaction B, committed first): A's "you are number 1" must not reach that visitor after B's
    "You're chatting with Dana"."""
    ahead, visitor = ConversationFactory(), ConversationFactory()
    handoff_request(conversation=ahead, reason="x")
    handoff_request(conversation=visitor, reason="y")
    sam = make_agent("Sam", status=Agent.Status.OFFLINE)
    dana = make_agent("Dana", status=Agent.Status.OFFLINE)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"conversation_{visitor.pk}", channel)

    took_visitor = threading.Event()

    def dana_takes_the_visitor():
        handoff_assign(handoff=visitor.handoffs.get(), agent=dana)
        took_visitor.set()

    with transaction.atomic():
        handoff_assign(handoff=ahead.handoffs.get(), agent=sam)  # the queue moves: positions are sent
        threading.Thread(target=dana_takes_the_visitor).start()
        assert took_visitor.wait(10)

    statuses = [event for event in status_events(layer, channel) if event["type"] == "status"]
    assert statuses and statuses[-1]["status"] == "assigned", statuses
