"""Issue 16 item 1: anonymous floods. The per-visitor message limit does nothing against a client that
drops its token (a new visitor on every socket), so sockets, new conversations, requests for a person
and emails left are also budgeted per client address and in total, in the shared cache (Redis here,
as with REDIS_URL in production)."""

import uuid

import pytest
import redis
from channels.testing import WebsocketCommunicator

from chat.db import database_sync_to_async
from chat.models import Customer, Message
from config import settings as production_settings
from handoff.models import Handoff
from tests.widget.conftest import ORIGIN, Widget
from widget.budgets import client_address

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_cache(redis_url, settings):
    """The rate limits count in real Redis, as every web process does with REDIS_URL set."""
    redis.Redis.from_url(redis_url).flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    settings.WIDGET_BUDGETS = dict(production_settings.WIDGET_BUDGETS)
    return settings


@pytest.fixture
async def from_address(widget_application, redis_cache):
    opened: list[WebsocketCommunicator] = []

    async def open_(address: str) -> Widget:
        communicator = WebsocketCommunicator(
            widget_application, "/ws/widget/", headers=[(b"origin", ORIGIN), (b"host", b"127.0.0.1")]
        )
        communicator.scope["client"] = (address, 40000)
        assert (await communicator.connect(timeout=3))[0]  # accepted: a refusal is sent, then the close
        opened.append(communicator)
        return Widget(communicator)

    yield open_
    for communicator in opened:
        await communicator.disconnect()


async def new_visitor_says(widget: Widget, text: str = "hi") -> dict:
    """hello without a token, then a first message: the ack, or the error that refused it."""
    await widget.hello()
    client_id = uuid.uuid4().hex
    await widget.send(type="message", client_id=client_id, text=text)
    while True:
        event = await widget.receive()
        if event["type"] in ("ack", "error") and event.get("client_id") == client_id:
            return event


async def test_one_client_dropping_its_token_creates_at_most_its_budget_of_visitors(from_address, scripted_bot):
    # Today's defaults: 10 new conversations per address in any 10 minutes (the assessment made 300 in 9.7 s).
    outcomes = [await new_visitor_says(await from_address("203.0.113.7")) for _ in range(14)]
    assert [event["type"] for event in outcomes] == ["ack"] * 10 + ["error"] * 4
    refused = outcomes[-1]
    assert refused["code"] == "rate_limited" and "try again in a few minutes" in refused["message"]
    assert refused["retry_after"] > 0  # the widget keeps the message and sends it again then
    assert await database_sync_to_async(Customer.objects.count)() == 10

    # Another address is not held up by the first one's flood.
    assert (await new_visitor_says(await from_address("198.51.100.20")))["type"] == "ack"


async def test_the_total_budget_holds_when_many_addresses_flood_together(from_address, redis_cache, scripted_bot):
    redis_cache.WIDGET_BUDGETS["conversation"] = (10, 3, 600)
    outcomes = [await new_visitor_says(await from_address(f"192.0.2.{n}")) for n in range(1, 6)]
    assert [event["type"] for event in outcomes] == ["ack"] * 3 + ["error"] * 2


async def test_sockets_beyond_the_address_budget_are_told_why_and_closed(from_address, redis_cache):
    redis_cache.WIDGET_BUDGETS["connect"] = (2, 100, 60)
    for _ in range(2):
        assert (await (await from_address("203.0.113.8")).hello())["type"] == "welcome"
    third = await from_address("203.0.113.8")
    refusal = await third.receive()
    assert refusal["code"] == "rate_limited" and refusal["retry_after"] > 0
    assert (await third.communicator.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4429}


async def test_asking_for_a_person_needs_a_message_first_and_has_a_budget(from_address, redis_cache, scripted_bot):
    redis_cache.WIDGET_BUDGETS["handoff"] = (1, 100, 600)
    silent = await from_address("203.0.113.9")
    await silent.hello()
    await silent.send(type="handoff_request")
    error, _ = await silent.receive_until("error")
    assert error["code"] == "handoff_failed"

    first = await from_address("203.0.113.9")
    await new_visitor_says(first, "my order is late")
    await first.send(type="handoff_request")
    await first.receive_until("status", status="queued")

    second = await from_address("203.0.113.9")
    await new_visitor_says(second, "me too")
    await second.send(type="handoff_request")
    error, _ = await second.receive_until("error")
    assert error["code"] == "rate_limited" and "request" in error["message"]
    assert await database_sync_to_async(Handoff.objects.count)() == 1


async def test_leaving_an_email_over_and_over_is_budgeted(from_address, redis_cache, scripted_bot):
    # The assessment stored 55 "we'll write to you" messages in 10 s from one socket.
    widget = await from_address("203.0.113.10")
    await new_visitor_says(widget)
    for n in range(5):
        await widget.send(type="contact", email=f"ada{n}@example.com")
    replies = [(await widget.receive_until(kind))[0] for kind in ("contact_saved",) * 3]
    error, _ = await widget.receive_until("error")
    assert len(replies) == 3 and error["code"] == "rate_limited"
    notices = await database_sync_to_async(
        Message.objects.filter(sender="system", metadata__kind="contact_saved").count
    )()
    assert notices == 3


@pytest.mark.parametrize(
    ("peer", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same subscriber's /64
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("not an address", "unknown"),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_its_64(peer, counted_as):
    assert client_address({"client": (peer, 1)}) == counted_as
    assert client_address({}) == "unknown"
