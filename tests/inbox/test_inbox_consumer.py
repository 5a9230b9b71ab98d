"""The inbox's live updates over a real Channels stack (auth middleware, origin check, routing)."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from agents.models import Agent, AgentConnection
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def inbox_socket(user, query: str = "") -> WebsocketCommunicator:
    cookie = await database_sync_to_async(session_cookie)(user)
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)]
    return WebsocketCommunicator(application, f"/ws/inbox/{query}", headers=headers)


async def receive_until(communicator, needle: str, timeout: float = 3.0) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        frame = await communicator.receive_from(timeout=max(remaining, 0.01))
        if needle in frame:
            return frame


async def test_an_anonymous_socket_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/inbox/", headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")]
    )
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


async def test_an_agent_of_another_team_cannot_watch_the_conversation(billing_agent, queued_conversation):
    communicator = await inbox_socket(billing_agent.user, f"?conversation={queued_conversation.pk}")
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4404)


@database_sync_to_async
def ask_for_a_person(name: str, team, **request):
    from handoff.services import handoff_request
    from tests.factories import ConversationFactory

    conversation = ConversationFactory(customer__name=name)
    handoff_request(conversation=conversation, reason=request.pop("reason", "Asked for a person"), team=team, **request)
    return conversation


async def test_the_queue_updates_live_when_a_visitor_asks_for_a_person(agent, support_team, always_open):
    communicator = await inbox_socket(agent.user)
    assert (await communicator.connect())[0]
    await ask_for_a_person("Live Larry", support_team)
    frame = await receive_until(communicator, "Live Larry")
    assert 'id="sidebar"' in frame and 'hx-swap-oob="true"' in frame and "Asked for a person" in frame
    await communicator.disconnect()


async def test_other_teams_queues_are_not_pushed(billing_agent, support_team, always_open):
    from handoff.services import handoff_request
    from tests.factories import ConversationFactory

    communicator = await inbox_socket(billing_agent.user)
    assert (await communicator.connect())[0]
    conversation = await database_sync_to_async(ConversationFactory)()
    await database_sync_to_async(handoff_request)(conversation=conversation, reason="x", team=support_team)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_visitor_messages_and_notes_are_appended_escaped_and_notes_never_reach_the_visitor(
    agent, queued_conversation
):
    from inbox.services import note_add
    from tests.factories import MessageFactory

    visitor_side = get_channel_layer()
    visitor_channel = await visitor_side.new_channel()
    await visitor_side.group_add(f"conversation_{queued_conversation.pk}", visitor_channel)

    communicator = await inbox_socket(agent.user, f"?conversation={queued_conversation.pk}")
    assert (await communicator.connect())[0]
    await database_sync_to_async(MessageFactory)(conversation=queued_conversation, text="<script>alert(1)</script>")
    frame = await receive_until(communicator, 'id="transcript"')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frame and "<script>" not in frame

    await database_sync_to_async(note_add)(author=agent.user, conversation=queued_conversation, text="secret note")
    frame = await receive_until(communicator, "secret note")
    assert "Internal note" in frame

    visitor_events = []
    while True:
        try:
            visitor_events.append(await asyncio.wait_for(visitor_side.receive(visitor_channel), 0.3))
        except TimeoutError:
            break
    assert visitor_events and all("secret note" not in str(event) for event in visitor_events)
    await communicator.disconnect()


async def test_the_agents_typing_reaches_the_visitor(agent, queued_conversation):
    layer = get_channel_layer()
    visitor_channel = await layer.new_channel()
    await layer.group_add(f"conversation_{queued_conversation.pk}", visitor_channel)
    communicator = await inbox_socket(agent.user, f"?conversation={queued_conversation.pk}")
    assert (await communicator.connect())[0]
    await communicator.send_json_to({"typing": "1", "text": "hel", "HEADERS": {}})
    event = await asyncio.wait_for(layer.receive(visitor_channel), 2)
    assert event["event"] == {"type": "typing", "sender": "agent", "author": {"name": "Dana"}, "is_typing": True}
    await communicator.disconnect()


async def test_an_agent_whose_last_tab_closes_becomes_away_after_the_grace_period(agent, settings):
    settings.HANDOFF_PRESENCE_GRACE_SECONDS = 0.2
    await database_sync_to_async(Agent.objects.filter(pk=agent.pk).update)(status="online")
    first, second = await inbox_socket(agent.user), await inbox_socket(agent.user)
    assert (await first.connect())[0] and (await second.connect())[0]
    assert await database_sync_to_async(AgentConnection.objects.filter(agent=agent).count)() == 2

    await first.disconnect()
    await asyncio.sleep(0.5)
    assert (await database_sync_to_async(Agent.objects.get)(pk=agent.pk)).status == "online", "one tab is still open"

    await second.disconnect()
    await asyncio.sleep(0.5)
    assert (await database_sync_to_async(Agent.objects.get)(pk=agent.pk)).status == "away"


async def test_a_request_joining_the_end_of_the_queue_pushes_its_row_and_the_counts_not_the_sidebar(
    agent, queued_conversation, support_team
):
    communicator = await inbox_socket(agent.user)
    assert (await communicator.connect())[0]
    conversation = await ask_for_a_person("Live Larry", support_team)
    frame = await receive_until(communicator, "Live Larry")
    assert 'id="sidebar"' not in frame, "the sidebar is not rendered again for one more row"
    assert '<ul hx-swap-oob="beforeend:#queue-list">' in frame and "Asked for a person" in frame
    assert f'data-conversation="{conversation.pk}"' in frame
    assert f'data-conversation="{queued_conversation.pk}"' not in frame, "the other rows stay as they are"
    assert 'id="queue-count" hx-swap-oob="true">2<' in frame and 'id="count-queue" hx-swap-oob="true">2<' in frame

    # Ahead of the queue (a higher priority): the sidebar is rendered whole, in the new order.
    await ask_for_a_person("Vip Vera", support_team, reason="VIP", priority=5)
    frame = await receive_until(communicator, "Vip Vera")
    assert 'id="sidebar"' in frame and frame.index("Vip Vera") < frame.index("Live Larry")
    await communicator.disconnect()


async def test_a_request_joining_beyond_the_rows_the_sidebar_shows_pushes_the_counts_alone(
    agent, queued_conversation, support_team, monkeypatch
):
    """With more waiting than the sidebar lists (SIDEBAR_QUEUE, 50), a newcomer at the end changes only
    the counts and the "and N more waiting" line: not the ~40 kB sidebar once per request per open tab."""
    monkeypatch.setattr("inbox.context.SIDEBAR_QUEUE", 2)
    communicator = await inbox_socket(agent.user)
    assert (await communicator.connect())[0]
    await ask_for_a_person("Second Sam", support_team)
    await receive_until(communicator, "Second Sam")  # the second row: still within the rows shown
    conversation = await ask_for_a_person("Third Tess", support_team)
    frame = await receive_until(communicator, 'id="queue-count" hx-swap-oob="true">3<')
    assert 'id="sidebar"' not in frame and "Third Tess" not in frame and "queue-list" not in frame
    assert f'data-conversation="{conversation.pk}"' not in frame
    assert 'id="queue-more" hx-swap-oob="true">' in frame and "and 1 more waiting" in frame
    assert 'id="count-queue" hx-swap-oob="true">3<' in frame
    await communicator.disconnect()


async def test_a_push_does_not_wait_for_the_thread_that_runs_the_http_views(agent, queued_conversation):
    """Django runs every sync view of the process in one thread-sensitive thread: an agent's slow page
    or reply there must not hold up another tab's pushes (issue 12)."""
    from asgiref.sync import sync_to_async

    from chat.realtime import inbox_changed_event

    communicator = await inbox_socket(agent.user)
    assert (await communicator.connect())[0]
    loop = asyncio.get_running_loop()
    slow_view = asyncio.ensure_future(sync_to_async(time.sleep, thread_sensitive=True)(3))
    await asyncio.sleep(0.2)  # the slow view holds the thread now
    started = loop.time()
    await get_channel_layer().group_send(
        f"agent_{agent.pk}", {"type": "inbox.inbox_changed", "event": inbox_changed_event()}
    )
    frame = await receive_until(communicator, 'id="sidebar"', timeout=2.5)
    assert loop.time() - started < 2, "the push waited for the slow view"
    assert 'id="queue-count"' in frame
    await slow_view
    await communicator.disconnect()


async def test_an_assignment_heard_through_the_team_and_the_agent_group_is_rendered_once(agent, queued_conversation):
    from handoff.services import handoff_assign

    communicator = await inbox_socket(agent.user)
    assert (await communicator.connect())[0]
    handoff = await database_sync_to_async(queued_conversation.handoffs.get)()
    await database_sync_to_async(handoff_assign)(handoff=handoff, agent=agent)
    frame = await receive_until(communicator, 'id="cue"')
    assert 'id="sidebar"' in frame and 'id="mine-count">1<' in frame
    assert await communicator.receive_nothing(timeout=0.5), "sent to team_<id> and agent_<id>: rendered once"
    await communicator.disconnect()
