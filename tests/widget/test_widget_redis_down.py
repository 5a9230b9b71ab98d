"""The widget with Redis down or restarted (issue 17): messages are stored, acknowledged and answered
without the channel layer, and live delivery resumes by itself when Redis is back.

A redis-server of the test's own on a spare port is stopped and started again (never the shared one).
"""

import asyncio
import shutil

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from chat.models import Conversation, Message
from chat.services import message_create
from config.redis_layer import redis_channel_layer
from tests.support.redis_server import OwnRedis
from tests.support.services import require

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_redis(settings):
    require(shutil.which("redis-server") is not None, "redis-server", "apt-get install redis-server")
    server = OwnRedis()
    server.start()
    channel_layers.backends.clear()
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(server.url)}
    yield server
    server.stop()
    channel_layers.backends.clear()


@pytest.fixture
def redis_down(own_redis):
    own_redis.stop()
    return own_redis


async def test_with_redis_down_a_visitor_is_welcomed_acked_and_answered(open_widget, scripted_bot, redis_down):
    """Before: hello failed on group_add (internal_error, no welcome), and a streaming or typing send
    that failed turned the answer into the failure text or lost it."""
    scripted_bot.token_delay = 0.06  # streamed in several deltas, each a failing channel-layer send
    widget = await open_widget()
    await widget.hello()
    ack = await widget.say("How long does shipping take?")
    assert ack["type"] == "ack" and ack["duplicate"] is False

    @database_sync_to_async
    def stored_reply():
        return Message.objects.filter(conversation__public_id=widget.welcome["conversation"], sender="bot").first()

    deadline = asyncio.get_running_loop().time() + 10
    while (reply := await stored_reply()) is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    assert reply is not None, "the question was never answered"
    assert reply.text == "Orders ship within 2 working days."
    assert reply.metadata["reply_to"] == ack["seq"]
    # Typing while Redis is down is dropped quietly, not answered with an error.
    await widget.send(type="typing", is_typing=True)
    assert [event for event in await widget.drain(0.5) if event["type"] == "error"] == []


async def test_after_a_redis_restart_the_widget_gets_what_was_sent_meanwhile(open_widget, own_redis):
    widget = await open_widget()
    await widget.hello()
    await widget.say("Hello?")
    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=widget.welcome["conversation"])
    await widget.drain(0.5)

    await asyncio.to_thread(own_redis.stop)
    await asyncio.sleep(1)  # the consumer's receive has failed and waits for Redis
    reply, _ = await database_sync_to_async(message_create)(
        conversation=conversation, sender=Message.Sender.AGENT, text="Sent while Redis was down"
    )
    await asyncio.to_thread(own_redis.start)  # empty: it has forgotten the conversation's group

    history, _ = await widget.receive_until("history", timeout=10)
    assert reply.seq in [message["seq"] for message in history["messages"]]
    # And the socket is in the group again: live events flow.
    later, _ = await database_sync_to_async(message_create)(
        conversation=conversation, sender=Message.Sender.AGENT, text="And after"
    )
    live, _ = await widget.receive_until("message", seq=later.seq, timeout=5)
    assert live["text"] == "And after"
