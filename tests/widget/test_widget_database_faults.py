"""The widget when PostgreSQL fails (issue 17, 'Also seen'), with real errors from the database:

- a message the server fails to store: the widget only offers to send it again, and only does so by
  itself, when the internal_error names its client_id (with an empty one it stayed "Sending..." for ever);
- a hello that fails: the socket is closed with 1011, so the widget reconnects and says hello again
  (it used to stay open with no welcome, the visitor staring at an empty chat)."""

import pytest
from django.db import connection

from chat.db import database_sync_to_async
from chat.models import Message
from widget.consumers import CLOSE_TRY_AGAIN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("scripted_bot")]

# A real failure from PostgreSQL (as from a full disk or a dropped connection), not a stand-in for our code.
REFUSE_MESSAGES = """
CREATE FUNCTION test_refuse_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
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
