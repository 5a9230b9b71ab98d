"""The pipeline after a visitor's message: the bot answers while it is in charge, and only then."""

import asyncio
import threading

import pytest

from chat.db import database_sync_to_async
from chat.models import Conversation, Message
from widget import pipeline

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def stored(conversation_public_id: str) -> list[Message]:
    return list(Message.objects.filter(conversation__public_id=conversation_public_id).order_by("seq"))


@database_sync_to_async
def set_status(conversation_public_id: str, status: str) -> None:
    Conversation.objects.filter(public_id=conversation_public_id).update(status=status)


async def bot_has_the_question(bot) -> None:
    while not bot.questions:
        await asyncio.sleep(0.01)


async def test_the_bot_types_streams_and_answers_with_its_sources(open_widget, scripted_bot):
    scripted_bot.token_delay = 0.06  # slower than the 50 ms batching, so each token is its own delta
    widget = await open_widget()
    await widget.hello()
    ack = await widget.say("How long does shipping take?")

    answer, before = await widget.receive_until("message", sender="bot")
    before = [event for event in before if event.get("sender") != "visitor"]  # the question's echo, after its ack
    kinds = [event["type"] for event in before]
    assert kinds[0] == "typing" and before[0]["sender"] == "bot" and before[0]["is_typing"] is True
    deltas = [event["text"] for event in before if event["type"] == "bot_delta"]
    assert len(deltas) >= 2
    assert "".join(deltas) == "Orders ship within 2 working days."
    assert all(event["reply_to"] == ack["seq"] for event in before if event["type"] == "bot_delta")

    assert answer["text"] == "Orders ship within 2 working days."
    assert answer["reply_to"] == ack["seq"]
    assert answer["sources"] == [{"title": "Shipping", "url": "/help/shipping"}]
    assert (answer["confidence"], answer["declined"]) == (0.91, False)
    # The answer itself ends the typing indicator: no separate "stopped typing" follows it.
    assert await widget.nothing(0.3)

    reply = (await stored(widget.welcome["conversation"]))[-1]
    assert reply.sender == "bot"
    assert reply.metadata["sources"][0]["url"] == "/help/shipping"
    assert reply.metadata["confidence"] == 0.91
    assert reply.metadata["reply_to"] == ack["seq"]


async def test_the_bot_gets_the_conversation_so_far(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    await widget.say("Do you ship to Norway?")
    await widget.receive_until("message", sender="bot")
    await widget.say("And how much is it?")
    await widget.receive_until("message", sender="bot")
    assert scripted_bot.histories[1] == [
        {"sender": "visitor", "text": "Do you ship to Norway?"},
        {"sender": "bot", "text": "Orders ship within 2 working days."},
    ]


async def test_questions_asked_quickly_are_answered_in_order(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    first = await widget.say("first?")
    second = await widget.say("second?")
    one, _ = await widget.receive_until("message", sender="bot")
    two, _ = await widget.receive_until("message", sender="bot")
    assert (one["reply_to"], two["reply_to"]) == (first["seq"], second["seq"])
    assert one["seq"] < two["seq"]


async def test_a_failing_bot_still_answers_and_offers_a_person(open_widget, scripted_bot):
    scripted_bot.fail = True
    widget = await open_widget()
    await widget.hello()
    await widget.say("Hello?")
    answer, _ = await widget.receive_until("message", sender="bot")
    assert answer["text"] == pipeline.BOT_FAILURE_TEXT
    assert answer["declined"] is True


@pytest.mark.parametrize("status", ["queued", "assigned"])
async def test_the_bot_stays_silent_while_a_person_is_waiting_or_chatting(open_widget, scripted_bot, status):
    widget = await open_widget()
    await widget.hello()
    await widget.say("Hi")
    await widget.receive_until("message", sender="bot")
    await set_status(widget.welcome["conversation"], status)

    await widget.say("Are you there, person?")
    # Only the visitor's own message comes back (the widget dedupes it by seq); nothing from the bot.
    assert [(e["type"], e["sender"]) for e in await widget.drain()] == [("message", "visitor")]
    from tests.widget.conftest import drain_bot_replies

    await drain_bot_replies()
    assert scripted_bot.questions == ["Hi"]
    assert [m.sender for m in await stored(widget.welcome["conversation"])] == ["visitor", "bot", "visitor"]


async def test_a_person_taking_over_while_the_bot_thinks_silences_the_answer(open_widget, scripted_bot):
    scripted_bot.gate = threading.Event()
    widget = await open_widget()
    await widget.hello()
    await widget.say("Slow question")
    await widget.receive_until("typing", sender="bot", is_typing=True)
    await asyncio.wait_for(bot_has_the_question(scripted_bot), 5)  # the typing comes at the ack, before that
    await set_status(widget.welcome["conversation"], "assigned")
    scripted_bot.gate.set()
    # With no answer stored, the bot says it stopped typing.
    _, before = await widget.receive_until("typing", sender="bot", is_typing=False)
    assert not [event for event in before if event["type"] == "message" and event["sender"] != "visitor"]
    assert [m.sender for m in await stored(widget.welcome["conversation"])] == ["visitor"]


async def test_a_reply_is_stored_even_if_the_visitor_left_before_it_was_ready(open_widget, scripted_bot):
    scripted_bot.gate = threading.Event()
    widget = await open_widget()
    await widget.hello()
    await widget.say("Answer me later")
    await widget.close()
    scripted_bot.gate.set()
    from tests.widget.conftest import drain_bot_replies

    await drain_bot_replies()
    messages = await stored(widget.welcome["conversation"])
    assert [m.sender for m in messages] == ["visitor", "bot"]


def test_streamed_tokens_are_batched(monkeypatch):
    sent = []
    monkeypatch.setattr(pipeline.realtime, "send_to_conversation", lambda cid, event: sent.append(event["text"]))
    now = [0.0]
    forward = pipeline._DeltaForwarder(conversation_id=1, reply_to=3, clock=lambda: now[0])
    for token in ["a", "b", "c"]:
        forward(token)
    now[0] = 0.06
    forward("d")
    forward("e")
    forward.finish()
    assert sent == ["abcd", "e"]


def test_an_answer_that_arrives_whole_is_not_also_streamed(monkeypatch):
    sent = []
    monkeypatch.setattr(pipeline.realtime, "send_to_conversation", lambda cid, event: sent.append(event))
    forward = pipeline._DeltaForwarder(conversation_id=1, reply_to=3, clock=lambda: 0.0)
    forward("The whole extractive answer.")
    forward.finish()
    assert sent == []


async def test_talk_to_a_person_queues_the_conversation_and_says_so(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    await widget.say("I want a human")
    await widget.receive_until("message", sender="bot")

    await widget.send(type="handoff_request")
    status, before = await widget.receive_until("status")
    assert (status["status"], status["previous_status"]) == ("queued", "bot")
    # The click is stored as the visitor's words, then the system message, so they are announced first.
    asked, notice = [event for event in before if event["type"] == "message"]
    assert (asked["sender"], asked["text"]) == ("visitor", "I'd like to talk to a person.")
    assert notice["sender"] == "system" and notice["text"]
    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=widget.welcome["conversation"])
    assert conversation.status == "queued"

    # Asking again while waiting changes nothing and is not an error.
    await widget.send(type="handoff_request")
    later = await widget.drain()
    assert not [e for e in later if e["type"] in ("error", "message")]
    assert all(e["status"] == "queued" for e in later if e["type"] == "status")


async def test_talk_to_a_person_before_writing_anything_is_refused_and_queues_nothing(open_widget, scripted_bot):
    # Issue 16 item 1: sockets that never wrote queued 20 handoffs in 1.3 s.
    widget = await open_widget()
    await widget.hello()
    await widget.send(type="handoff_request")
    error, before = await widget.receive_until("error")
    assert error["code"] == "handoff_failed" and "Write your question first" in error["message"]
    assert not [event for event in before if event["type"] in ("welcome", "status")]
    assert not await database_sync_to_async(Conversation.objects.exists)()


async def test_writing_in_a_resolved_conversation_reopens_it_for_the_bot(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    await widget.say("Thanks, all good")
    await widget.receive_until("message", sender="bot")
    await set_status(widget.welcome["conversation"], "resolved")

    again = await open_widget()
    welcome = await again.hello(widget.welcome["token"])
    assert (welcome["conversation"], welcome["status"]) == (widget.welcome["conversation"], "resolved")
    await again.say("One more thing")
    answer, _ = await again.receive_until("message", sender="bot")
    assert answer["text"]
    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=widget.welcome["conversation"])
    assert conversation.status == "bot"


async def test_a_question_waiting_behind_another_shows_typing_at_once_and_is_answered_in_order(
    open_widget, scripted_bot
):
    """Beyond capacity an answer waits (for a worker, or for this visitor's earlier question); the
    visitor sees the bot typing right after the ack, not only once the answer starts (issue 12)."""
    scripted_bot.gate = threading.Event()
    widget = await open_widget()
    await widget.hello()
    first = await widget.say("How long does shipping take?")
    await widget.receive_until("typing", sender="bot", is_typing=True)
    second = await widget.say("And to Norway?")
    # The first answer is still held: this typing is the second question's.
    await widget.receive_until("typing", timeout=1, sender="bot", is_typing=True)
    scripted_bot.gate.set()
    answers = [(await widget.receive_until("message", sender="bot"))[0]["reply_to"] for _ in range(2)]
    assert answers == [first["seq"], second["seq"]]


async def test_no_bot_typing_while_a_person_has_the_conversation(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    await widget.say("Hi")
    await widget.receive_until("message", sender="bot")
    await set_status(widget.welcome["conversation"], Conversation.Status.ASSIGNED)
    await widget.say("Are you there?")
    assert not [event for event in await widget.drain(0.5) if event["type"] == "typing"]
