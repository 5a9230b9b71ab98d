"""The widget protocol against a real Daphne server over a real WebSocket (loopback only).

The server is a separate process sharing the test database and the Redis channel layer.
"""

import asyncio
import json
import uuid

import pytest
from websockets.asyncio.client import connect

from chat import services
from chat.db import database_sync_to_async
from chat.models import Conversation
from tests.widget.live import wait_for_live_server_to_settle

pytestmark = [pytest.mark.live_server, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def live_server_settles(transactional_db):
    yield
    wait_for_live_server_to_settle()


class Visitor:
    def __init__(self, socket) -> None:
        self.socket = socket
        self.welcome: dict = {}

    async def send(self, **event) -> None:
        await self.socket.send(json.dumps(event))

    async def until(self, kind: str, timeout: float = 15, **match) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                event = json.loads(await self.socket.recv())
                if event["type"] == "welcome":
                    self.welcome = event
                if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                    return event


def visitor_socket(live_server_url: str):
    origin = live_server_url
    return connect(live_server_url.replace("http", "ws", 1) + "/ws/widget/", origin=origin, proxy=None)


async def test_a_visitor_chats_over_a_real_socket_and_catches_up_after_reconnecting(live_server_url):
    async with visitor_socket(live_server_url) as socket:
        visitor = Visitor(socket)
        await visitor.send(type="hello", token=None, page={"url": live_server_url + "/", "title": "Home"})
        await visitor.until("welcome")
        client_id = uuid.uuid4().hex
        await visitor.send(type="message", client_id=client_id, text="Do you ship to Canada?")
        ack = await visitor.until("ack", client_id=client_id)
        answer = await visitor.until("message", sender="bot")
        assert answer["reply_to"] == ack["seq"]
        token, conversation = visitor.welcome["token"], visitor.welcome["conversation"]

    # While the visitor is away, an agent replies from another process (this one, whose channel
    # layer is in-memory): the server hears nothing live, so only resume can deliver it.
    @database_sync_to_async
    def agent_reply():
        services.message_create(
            conversation=Conversation.objects.get(public_id=conversation), sender="agent", text="Yes, we do!"
        )

    await agent_reply()

    async with visitor_socket(live_server_url) as socket:
        visitor = Visitor(socket)
        await visitor.send(type="hello", token=token)
        welcome = await visitor.until("welcome")
        assert welcome["conversation"] == conversation
        await visitor.send(type="resume", after_seq=answer["seq"])
        history = await visitor.until("history")
        assert [(m["sender"], m["text"]) for m in history["messages"]] == [("agent", "Yes, we do!")]

        # The retried message from before the reconnect is recognised, not stored again.
        await visitor.send(type="message", client_id=client_id, text="Do you ship to Canada?")
        again = await visitor.until("ack", client_id=client_id)
        assert (again["seq"], again["duplicate"]) == (ack["seq"], True)


async def test_an_agent_reply_from_another_process_arrives_live_over_redis(live_server_url, redis_channel_layer):
    async with visitor_socket(live_server_url) as socket:
        visitor = Visitor(socket)
        await visitor.send(type="hello")
        await visitor.until("welcome")
        await visitor.send(type="message", client_id="c1", text="Anyone there?")
        await visitor.until("ack", client_id="c1")
        await visitor.until("message", sender="bot")

        @database_sync_to_async
        def agent_reply():
            conversation = Conversation.objects.get(public_id=visitor.welcome["conversation"])
            services.message_create(conversation=conversation, sender="agent", text="Hi, Dana here")

        await agent_reply()
        live = await visitor.until("message", sender="agent")
        assert live["text"] == "Hi, Dana here"


async def test_the_server_refuses_a_socket_from_a_foreign_page(live_server_url):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus):
        async with connect(
            live_server_url.replace("http", "ws", 1) + "/ws/widget/", origin="https://evil.example", proxy=None
        ):
            pass
