"""The widget when PostgreSQL fails (issue 17, 'Also seen'), with real errors from the database:

- a message the server fails to store: the widget only offers to send it again, and only does so by
  itself, when the internal_error names its client_id (with an empty one it stayed "Sending..." for ever);
- a hello that fails: the socket is closed with 1011, so the widget reconnects and says hello again
  (it used to stay open with no welcome, the visitor staring at an empty chat);
- messages that failed to store use none of the visitor's rate limit, so their retries are not refused
  once the database is back (they were: acks waited 13-17 s after a 10 s outage);
- an answer that failed is retried within seconds, for over a minute (Celery's backoff grew to 30 s)."""

import pytest
from celery.exceptions import Retry
from django.core.cache import caches
from django.db import OperationalError, connection

from chat.db import database_sync_to_async
from chat.models import Message
from chat.services import message_create
from tests.factories import ConversationFactory
from widget.consumers import CLOSE_TRY_AGAIN
from widget.tasks import answer_visitor_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("scripted_bot")]

# A real failure from PostgreSQL (as from a full disk or a dropped connection), not a stand-in for our code.
REFUSE_MESSAGES = """
CREATE FUNCTION test_refuse_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
CREATE TRIGGER test_refuse_message BEFORE INSERT ON chat_message
    FOR EACH ROW EXECUTE FUNCTION test_refuse_message();
"""
ACCEPT_MESSAGES = (
    "DROP TRIGGER IF EXISTS test_refuse_message ON chat_message; DROP FUNCTION IF EXISTS test_refuse_message();"
)


def execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.fixture
def database_refuses_messages():
    """Storing a message fails until the test awaits the fixture's value (the fault is over)."""
    execute(REFUSE_MESSAGES)
    yield lambda: database_sync_to_async(execute)(ACCEPT_MESSAGES)
    execute(ACCEPT_MESSAGES)


async def test_a_message_the_database_refused_is_named_in_the_error_and_stored_once_when_sent_again(
    open_widget, database_refuses_messages
):
    widget = await open_widget()
    await widget.hello()
    await widget.send(type="message", client_id="refused-1", text="Do you ship to Norway?")
    error, _ = await widget.receive_until("error")
    assert (error["code"], error["client_id"]) == ("internal_error", "refused-1")

    await database_refuses_messages()  # the fault is over; the widget sends its outbox again
    await widget.send(type="message", client_id="refused-1", text="Do you ship to Norway?")
    ack, _ = await widget.receive_until("ack", client_id="refused-1")
    stored = await database_sync_to_async(list)(Message.objects.filter(client_id="refused-1").values_list("seq"))
    assert stored == [(ack["seq"],)]


@pytest.fixture
def database_without_customers():
    """Reading a visitor fails, as after a botched migration, once the test awaits the fixture's value."""
    yield lambda: database_sync_to_async(execute)("ALTER TABLE chat_customer RENAME TO chat_customer_away")
    execute("ALTER TABLE IF EXISTS chat_customer_away RENAME TO chat_customer")


async def test_a_hello_the_database_failed_closes_the_socket_so_the_widget_says_hello_again(
    open_widget, database_without_customers
):
    returning = await open_widget()
    await returning.hello()
    await returning.say("Hi there")
    await returning.receive_until("message", sender="bot")  # its answer is done with the database
    token = returning.welcome["token"]

    await database_without_customers()
    widget = await open_widget()
    await widget.send(type="hello", token=token)
    error = await widget.receive()
    assert (error["type"], error["code"]) == ("error", "internal_error")
    closed = await widget.communicator.receive_output(timeout=2)
    assert (closed["type"], closed["code"]) == ("websocket.close", CLOSE_TRY_AGAIN)


@pytest.fixture
def refuse_messages():
    """refuse_messages(True): storing a message fails until refuse_messages(False), and never after the test."""
    yield lambda refuse: execute(REFUSE_MESSAGES if refuse else ACCEPT_MESSAGES)
    execute(ACCEPT_MESSAGES)


@pytest.fixture(params=["local memory", "redis"])
def rate_limit_cache(request, settings):
    """The visitor's rate limit counts in local memory and in a real Redis (its script)."""
    if request.param == "redis":
        location = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}
    caches["default"].clear()
    settings.WIDGET_RATE_LIMIT_MESSAGES, settings.WIDGET_RATE_LIMIT_SECONDS = 3, 60


@pytest.mark.usefixtures("rate_limit_cache")
async def test_messages_the_database_failed_to_store_use_no_rate_limit_slot(open_widget, refuse_messages):
    widget = await open_widget()
    await widget.hello()
    await widget.say("Hi")  # slot 1 of 3
    await widget.receive_until("message", sender="bot")  # its answer is stored before the fault

    await database_sync_to_async(refuse_messages)(True)
    for _ in range(3):  # the widget sends its outbox again after each internal_error
        await widget.send(type="message", client_id="refused-1", text="Do you ship to Norway?")
        error, _ = await widget.receive_until("error")
        assert (error["code"], error["client_id"]) == ("internal_error", "refused-1")
    await database_sync_to_async(refuse_messages)(False)

    stored = await widget.say("Do you ship to Norway?", client_id="refused-1")  # slot 2
    # The same message again (its ack was lost): acked as a duplicate, counted once.
    again = await widget.say("Do you ship to Norway?", client_id="refused-1")
    assert (again["duplicate"], again["seq"]) == (True, stored["seq"])
    await widget.say("And to Iceland?")  # slot 3
    # At the limit a stored message is still acked again; a new one waits.
    assert (await widget.say("Do you ship to Norway?", client_id="refused-1"))["duplicate"]
    await widget.send(type="message", client_id="one-more", text="Or Greenland?")
    error, _ = await widget.receive_until("error")
    assert (error["code"], error["client_id"]) == ("rate_limited", "one-more")


def test_an_answer_the_database_failed_is_retried_within_seconds_for_over_a_minute(refuse_messages):
    """The task's own retry policy, through Celery's retry: each run here as a worker's retry number
    `retries` runs it, and its Retry carries the countdown a worker would wait."""
    question, _ = message_create(conversation=ConversationFactory(), sender="visitor", text="Do you ship to Norway?")
    delays = []
    refuse_messages(True)  # the bot's reply cannot be stored
    # After the last retry the database's own error; the answer sweep takes over.
    with pytest.raises(OperationalError):
        for retries in range(100):
            with pytest.raises(Retry) as retry:
                answer_visitor_message.apply(args=[question.pk], retries=retries, throw=True)
            delays.append(retry.value.when)
    refuse_messages(False)
    assert delays[0] <= 1 and max(delays) <= 5, delays  # back within seconds of the database
    assert sum(delays) >= 60, delays  # a minute-long outage is covered
    assert len({round(delay, 3) for delay in delays[3:]}) > 1, "jittered, so failed answers do not retry together"

    answer_visitor_message.apply(args=[question.pk], retries=1, throw=True)  # the database is back
    question.refresh_from_db()
    assert question.handled_at is not None
    assert question.conversation.messages.filter(sender="bot").count() == 1
