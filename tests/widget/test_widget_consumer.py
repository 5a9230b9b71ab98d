"""The widget's WebSocket protocol over WebsocketCommunicator: identity, messages, bad input, resume."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from django.core import signing

from chat import realtime, services
from chat.db import database_sync_to_async
from chat.models import Conversation, Customer, Message
from widget import consumers
from widget.tokens import token_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("scripted_bot")]


@database_sync_to_async
def visitor_messages(conversation_public_id: str) -> list[tuple[int, str, str]]:
    return list(
        Message.objects.filter(conversation__public_id=conversation_public_id, sender="visitor")
        .order_by("seq")
        .values_list("seq", "client_id", "text")
    )


@database_sync_to_async
def post(conversation_public_id: str, sender: str, text: str, **kwargs) -> Message:
    conversation = Conversation.objects.get(public_id=conversation_public_id)
    return services.message_create(conversation=conversation, sender=sender, text=text, **kwargs)[0]


async def new_visitor(open_widget, text: str = "Hi there"):
    widget = await open_widget()
    await widget.hello()
    ack = await widget.say(text)
    return widget, ack


# --- Identity --------------------------------------------------------------------------------------


async def test_a_new_visitor_gets_a_token_with_their_first_message(open_widget):
    widget = await open_widget()
    welcome = await widget.hello()
    assert (welcome["token"], welcome["conversation"], welcome["last_seq"]) == (None, None, 0)
    assert welcome["limits"] == {"max_message_chars": 4000, "rate_limit_messages": 10, "rate_limit_seconds": 10}
    assert not await database_sync_to_async(Customer.objects.exists)()  # merely opening the widget stores nothing

    ack = await widget.say("Where is my order?", client_id="first")
    assert widget.welcome["token"] and widget.welcome["conversation"] and widget.welcome["status"] == "bot"
    assert (ack["client_id"], ack["seq"], ack["duplicate"]) == ("first", 1, False)
    assert await visitor_messages(widget.welcome["conversation"]) == [(1, "first", "Where is my order?")]


async def test_a_reload_continues_the_same_conversation_with_the_token(open_widget):
    first, _ = await new_visitor(open_widget)
    token, conversation = first.welcome["token"], first.welcome["conversation"]
    await first.close()

    again = await open_widget()
    welcome = await again.hello(token)
    assert welcome["conversation"] == conversation
    assert welcome["status"] == "bot"
    assert welcome["last_seq"] >= 1
    assert welcome["token"]  # refreshed on every connection, so active visitors never expire
    ack = await again.say("Me again")
    assert ack["seq"] > 1


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda mine, theirs: mine[:-2] + ("xx" if not mine.endswith("xx") else "yy"), id="tampered"),
        pytest.param(
            lambda mine, theirs: token_issue(
                customer_public_id=mine_customer(mine), conversation_public_id=theirs_conversation(theirs)
            ),
            id="foreign-conversation",
        ),
        pytest.param(lambda mine, theirs: signing.dumps({"cu": str(uuid.uuid4())}, salt="other"), id="other-salt"),
        pytest.param(
            lambda mine, theirs: token_issue(customer_public_id=uuid.uuid4(), conversation_public_id=None),
            id="unknown-visitor",
        ),
        pytest.param(lambda mine, theirs: "not-a-token", id="junk"),
    ],
)
async def test_a_bad_token_is_refused_and_the_socket_closed(open_widget, make_token):
    mine, _ = await new_visitor(open_widget, "mine")
    theirs, _ = await new_visitor(open_widget, "theirs")
    token = await database_sync_to_async(make_token)(mine.welcome["token"], theirs.welcome["token"])

    intruder = await open_widget()
    await intruder.send(type="hello", token=token)
    error = await intruder.receive()
    assert (error["type"], error["code"]) == ("error", "invalid_token")
    closed = await intruder.communicator.receive_output(timeout=1)
    assert (closed["type"], closed["code"]) == ("websocket.close", consumers.CLOSE_INVALID_TOKEN)
    assert [text for _, _, text in await visitor_messages(theirs.welcome["conversation"])] == ["theirs"]


def mine_customer(token: str) -> uuid.UUID:
    return Customer.objects.get(conversations__public_id=_conversation_from(token)).public_id


def theirs_conversation(token: str) -> uuid.UUID:
    return _conversation_from(token)


def _conversation_from(token: str) -> uuid.UUID:
    from widget.tokens import token_read

    return token_read(token=token).conversation_id


async def test_events_before_hello_are_refused_without_closing(open_widget):
    widget = await open_widget()
    await widget.send(type="message", client_id="c1", text="hi")
    assert (await widget.receive())["code"] == "hello_required"
    await widget.hello()
    await widget.send(type="hello")
    assert (await widget.receive())["code"] == "already_started"


async def test_a_socket_that_never_says_hello_is_closed(open_widget, monkeypatch):
    monkeypatch.setattr(consumers, "HELLO_TIMEOUT_SECONDS", 0.1)
    widget = await open_widget()
    closed = await widget.communicator.receive_output(timeout=2)
    assert closed["type"] == "websocket.close" and closed["code"] == consumers.CLOSE_NO_HELLO


@pytest.mark.parametrize("origin", [b"https://evil.example", None])
async def test_sockets_from_other_sites_are_refused(widget_application, origin):
    from channels.testing import WebsocketCommunicator

    headers = [(b"origin", origin)] if origin else []
    communicator = WebsocketCommunicator(widget_application, "/ws/widget/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


async def test_a_site_allowed_to_embed_the_widget_may_connect(open_widget, settings):
    settings.WIDGET_ALLOWED_ORIGINS = ["https://shop.example.com"]
    widget = await open_widget(origin=b"https://shop.example.com")
    await widget.hello()


async def test_the_page_the_visitor_chats_from_is_remembered(open_widget):
    widget = await open_widget()
    await widget.hello(page={"url": "https://shop.example.com/boots", "title": "Boots"})
    await widget.say("Do these run small?")
    await widget.receive_until("message", sender="bot")  # the page is stored after the ack, before the answer
    customer = await database_sync_to_async(Customer.objects.get)()
    assert customer.attributes["pages"][0]["url"] == "https://shop.example.com/boots"


# --- Bad input: a clear error, nothing stored, the socket keeps working ----------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"type": "message", "client_id": "c9", "text": ""}', "empty_message"),
        ('{"type": "message", "client_id": "c9", "text": "   \\n "}', "empty_message"),
        ('{"type": "message", "client_id": "c9", "text": "' + "a" * 4001 + '"}', "message_too_long"),
        ('{"type": "message", "client_id": "c9", "text": "bad \\u0000"}', "invalid_text"),
        ('{"type": "message", "client_id": "c 9", "text": "hi"}', "invalid_client_id"),
        ('{"type": "message", "client_id": "c9", "text": ["hi"]}', "invalid_field"),
        ("{this is not json", "malformed_json"),
        ('["message"]', "malformed_json"),
        ('{"type": "subscribe", "conversation": 1}', "unknown_type"),
        ('{"text": "no type"}', "unknown_type"),
        ('{"type": "resume", "after_seq": -5}', "invalid_field"),
    ],
)
async def test_bad_input_gets_an_error_and_nothing_is_stored_or_lost(open_widget, frame, code):
    widget, ack = await new_visitor(open_widget, "before")
    await widget.send_raw(frame)
    error, _ = await widget.receive_until("error")
    assert error["code"] == code
    assert error["message"]
    after = await widget.say("after")
    assert after["seq"] > ack["seq"]
    assert [text for _, _, text in await visitor_messages(widget.welcome["conversation"])] == ["before", "after"]


async def test_a_binary_frame_is_refused(open_widget):
    widget = await open_widget()
    await widget.hello()
    await widget.send_raw(binary=b"\x00\x01")
    assert (await widget.receive())["code"] == "malformed_json"


async def test_an_oversized_frame_is_refused_before_parsing(open_widget):
    widget = await open_widget()
    await widget.hello()
    await widget.send_raw("x" * 70_000)
    assert (await widget.receive())["code"] == "frame_too_large"


async def test_errors_for_a_message_name_its_client_id(open_widget):
    widget = await open_widget()
    await widget.hello()
    await widget.send(type="message", client_id="long-one", text="a" * 4001)
    error = await widget.receive()
    assert (error["code"], error["client_id"]) == ("message_too_long", "long-one")


async def test_a_retried_client_id_is_stored_once_and_acked_again_with_the_same_seq(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    first = await widget.say("Is this sent?", client_id="retry-me")
    await widget.receive_until("message", sender="bot")
    again = await widget.say("Is this sent?", client_id="retry-me")
    assert (again["seq"], again["duplicate"]) == (first["seq"], True)
    assert await visitor_messages(widget.welcome["conversation"]) == [(1, "retry-me", "Is this sent?")]
    await asyncio.sleep(0.2)
    assert scripted_bot.questions == ["Is this sent?"]  # the bot answered once


async def test_a_retry_from_a_second_tab_after_reconnect_is_still_one_message(open_widget):
    widget, ack = await new_visitor(open_widget, "from tab one")
    tab = await open_widget()
    await tab.hello(widget.welcome["token"])
    client_id = (await visitor_messages(widget.welcome["conversation"]))[0][1]
    again = await tab.say("from tab one", client_id=client_id)
    assert (again["seq"], again["duplicate"]) == (ack["seq"], True)


async def test_simultaneous_retries_on_two_sockets_store_one_message(open_widget):
    widget, _ = await new_visitor(open_widget)
    tab = await open_widget()
    await tab.hello(widget.welcome["token"])
    await asyncio.gather(
        widget.send(type="message", client_id="racing", text="twice?"),
        tab.send(type="message", client_id="racing", text="twice?"),
    )
    acks = [(await w.receive_until("ack", client_id="racing"))[0] for w in (widget, tab)]
    assert acks[0]["seq"] == acks[1]["seq"]
    assert sorted(a["duplicate"] for a in acks) == [False, True]
    stored = [row for row in await visitor_messages(widget.welcome["conversation"]) if row[1] == "racing"]
    assert len(stored) == 1


async def test_a_flood_is_rate_limited_per_visitor_and_nothing_beyond_the_limit_is_stored(open_widget, settings):
    settings.WIDGET_RATE_LIMIT_MESSAGES = 5
    widget, _ = await new_visitor(open_widget, "m0")
    for i in range(1, 5):
        await widget.say(f"m{i}")
    await widget.send(type="message", client_id="too-many", text="m5")
    error, _ = await widget.receive_until("error")
    assert (error["code"], error["client_id"]) == ("rate_limited", "too-many")
    assert 0 < error["retry_after"] <= 20
    # A second socket of the same visitor shares the limit.
    tab = await open_widget()
    await tab.hello(widget.welcome["token"])
    await tab.send(type="message", client_id="from-tab", text="m6")
    assert (await tab.receive_until("error"))[0]["code"] == "rate_limited"
    texts = [text for _, _, text in await visitor_messages(widget.welcome["conversation"])]
    assert texts == ["m0", "m1", "m2", "m3", "m4"]


async def test_a_flood_of_other_events_is_limited_per_connection(open_widget, monkeypatch):
    monkeypatch.setattr(consumers, "OTHER_EVENTS_LIMIT", 3)
    widget = await open_widget()
    await widget.hello()
    for _ in range(3):
        await widget.send(type="ping")
        assert (await widget.receive())["type"] == "pong"
    await widget.send(type="ping")
    assert (await widget.receive())["code"] == "rate_limited"


# --- Resume after a reconnect ---------------------------------------------------------------------------


async def test_resume_returns_everything_missed_in_order_without_duplicates(open_widget):
    widget, _ = await new_visitor(open_widget, "question")
    await widget.receive_until("message", sender="bot")
    token, conversation = widget.welcome["token"], widget.welcome["conversation"]
    seen = 2  # the question and the bot's answer
    await widget.close()

    # While the visitor is away: an agent writes, a system message and another bot message land.
    await post(conversation, "system", "Dana joined")
    await post(conversation, "agent", "Hi, Dana here")
    await post(conversation, "bot", "Anything else?")

    again = await open_widget()
    welcome = await again.hello(token)
    assert welcome["last_seq"] == 5
    await again.send(type="resume", after_seq=seen)
    history = await again.receive()
    assert history["type"] == "history"
    assert [(m["seq"], m["sender"], m["text"]) for m in history["messages"]] == [
        (3, "system", "Dana joined"),
        (4, "agent", "Hi, Dana here"),
        (5, "bot", "Anything else?"),
    ]
    assert (history["last_seq"], history["more"]) == (5, False)

    await again.send(type="resume", after_seq=5)
    assert (await again.receive())["messages"] == []


async def test_resume_from_zero_restores_the_whole_history_after_a_reload(open_widget):
    widget, _ = await new_visitor(open_widget, "<b>raw</b> & kept")
    await widget.receive_until("message", sender="bot")
    again = await open_widget()
    await again.hello(widget.welcome["token"])
    await again.send(type="resume", after_seq=0)
    history = await again.receive()
    first, answer = history["messages"][:2]
    assert (first["sender"], first["text"]) == ("visitor", "<b>raw</b> & kept")  # raw: escaping is the renderer's job
    assert first["client_id"]
    assert answer["sender"] == "bot"


async def test_a_long_history_comes_in_pages(open_widget):
    widget, _ = await new_visitor(open_widget)
    conversation = widget.welcome["conversation"]

    @database_sync_to_async
    def fill():
        c = Conversation.objects.get(public_id=conversation)
        for i in range(205):
            services.message_create(conversation=c, sender="system", text=f"note {i}")

    await widget.receive_until("message", sender="bot")
    await fill()
    await widget.send(type="resume", after_seq=0)
    history, _ = await widget.receive_until("history")
    assert (len(history["messages"]), history["more"]) == (200, True)
    await widget.send(type="resume", after_seq=history["last_seq"])
    rest, _ = await widget.receive_until("history")
    assert rest["more"] is False
    seqs = [m["seq"] for m in history["messages"] + rest["messages"]]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_a_new_visitor_resuming_gets_an_empty_history(open_widget):
    widget = await open_widget()
    await widget.hello()
    await widget.send(type="resume", after_seq=0)
    assert (await widget.receive())["messages"] == []


# --- Live events -------------------------------------------------------------------------------------


async def test_an_agent_reply_arrives_live_with_the_agents_name(open_widget):
    from agents.models import Agent
    from tests.factories import UserFactory

    widget, _ = await new_visitor(open_widget)
    await widget.receive_until("message", sender="bot")

    @database_sync_to_async
    def agent_replies():
        user = UserFactory(username="sam-o", first_name="Sam")
        Agent.objects.create(user=user, display_name="Sam")
        conversation = Conversation.objects.get(public_id=widget.welcome["conversation"])
        services.message_create(conversation=conversation, sender="agent", author=user, text="Sam here, hi!")

    await agent_replies()
    event, _ = await widget.receive_until("message", sender="agent")
    assert (event["text"], event["author"]) == ("Sam here, hi!", {"name": "Sam"})


async def test_typing_goes_both_ways_but_never_echoes_to_the_typist(open_widget):
    widget, _ = await new_visitor(open_widget)
    await widget.receive_until("message", sender="bot")
    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=widget.welcome["conversation"])
    layer = get_channel_layer()
    inbox = await layer.new_channel()
    await layer.group_add(realtime.conversation_group(conversation.pk), inbox)

    await widget.send(type="typing", is_typing=True)
    envelope = await asyncio.wait_for(layer.receive(inbox), 2)
    assert envelope == {
        "type": "chat.typing",
        "event": {"type": "typing", "sender": "visitor", "author": None, "is_typing": True},
    }
    assert await widget.nothing()

    await database_sync_to_async(realtime.broadcast_typing)(
        conversation_id=conversation.pk, sender="agent", is_typing=True, name="Dana"
    )
    event = await widget.receive()
    assert event == {"type": "typing", "sender": "agent", "author": {"name": "Dana"}, "is_typing": True}


async def test_status_changes_reach_the_widget(open_widget):
    widget, _ = await new_visitor(open_widget)
    await widget.receive_until("message", sender="bot")

    @database_sync_to_async
    def queue():
        conversation = Conversation.objects.get(public_id=widget.welcome["conversation"])
        conversation.status = Conversation.Status.QUEUED
        conversation.save(update_fields=["status"])
        realtime.broadcast_status(conversation=conversation, previous_status="bot", detail={"position": 2})

    await queue()
    event, _ = await widget.receive_until("status")
    assert (event["status"], event["previous_status"], event["detail"]) == ("queued", "bot", {"position": 2})


async def test_ping_gets_pong(open_widget):
    widget = await open_widget()
    await widget.hello()
    await widget.send(type="ping")
    assert await widget.receive() == {"type": "pong"}
