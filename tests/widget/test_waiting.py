"""While waiting for a person the visitor can keep talking to the assistant, or take the request back."""

import pytest

from chat.db import database_sync_to_async
from chat.models import Conversation, Message
from handoff.models import Handoff, HandoffEvent, SatisfactionRating
from handoff.services import handoff_assign
from tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_knowledge_base(transactional_db):
    from knowledge.demo import load_demo_knowledge_base

    load_demo_knowledge_base()


async def queued_widget(open_widget):
    widget = await open_widget()
    await widget.hello()
    await widget.say("How long does shipping take?")
    await widget.receive_until("message", sender="bot", timeout=30)
    await widget.send(type="handoff_request")
    await widget.receive_until("status", status="queued")
    return widget


@database_sync_to_async
def conversation_of(widget) -> Conversation:
    return Conversation.objects.get(public_id=widget.welcome["conversation"])


@database_sync_to_async
def join(conversation: Conversation) -> None:
    agent = AgentFactory(user__first_name="Dana", teams=[TeamFactory()], max_concurrent=0)
    handoff_assign(handoff=Handoff.objects.get(conversation=conversation), agent=agent)


async def test_a_waiting_visitor_chats_with_the_bot_until_a_person_joins(open_widget, demo_knowledge_base):
    widget = await queued_widget(open_widget)
    await widget.say("do you take paypal")
    bot_said = [e for e in await widget.drain(1.0) if e["type"] == "message" and e["sender"] == "bot"]
    assert not bot_said, "silent until the visitor chooses"

    await widget.send(type="bot_while_waiting")
    status, before = await widget.receive_until("status", status="queued")
    assert status["detail"]["bot_while_waiting"] is True
    assert any(e["type"] == "message" and "keep your place" in e["text"] for e in before)

    await widget.say("where is my order")
    answer, _ = await widget.receive_until("message", sender="bot", timeout=30)
    assert answer["while_waiting"] is True and "tracking" in answer["text"].lower()
    conversation = await conversation_of(widget)
    assert conversation.status == Conversation.Status.QUEUED  # still in the queue, same place

    await join(conversation)
    await widget.receive_until("status", status="assigned")
    await widget.say("How do I return an item?")
    assert not [e for e in await widget.drain(1.0) if e["type"] == "message" and e["sender"] == "bot"]
    # The person who joined has the bot's answers in the transcript.
    texts = await database_sync_to_async(list)(
        conversation.messages.filter(sender="bot").values_list("text", flat=True)
    )
    assert any("tracking" in text.lower() for text in texts)


async def test_the_visitor_cancels_the_request_and_is_back_with_the_bot(open_widget, demo_knowledge_base):
    widget = await queued_widget(open_widget)

    await widget.send(type="handoff_cancel")
    status, before = await widget.receive_until("status", status="bot")
    assert status["previous_status"] == "queued"
    assert any(e["type"] == "message" and "back with our assistant" in e["text"] for e in before)
    conversation = await conversation_of(widget)
    handoff = await database_sync_to_async(Handoff.objects.get)(conversation=conversation)
    assert handoff.status == Handoff.Status.CANCELLED and handoff.ended_at is not None
    assert await database_sync_to_async(
        HandoffEvent.objects.filter(handoff=handoff, action=HandoffEvent.Action.CANCEL).exists
    )()

    await widget.say("do you take paypal")
    answer, _ = await widget.receive_until("message", sender="bot", timeout=30)
    assert "PayPal" in answer["text"]


async def test_cancelling_after_a_person_joined_is_refused_with_the_reason(open_widget, demo_knowledge_base):
    widget = await queued_widget(open_widget)
    await join(await conversation_of(widget))
    await widget.receive_until("status", status="assigned")

    await widget.send(type="handoff_cancel")
    error, _ = await widget.receive_until("error")
    assert error["code"] == "handoff_failed" and "already joined" in error["message"]
    assert (await conversation_of(widget)).status == Conversation.Status.ASSIGNED
    assert await database_sync_to_async(Message.objects.filter(metadata__kind="handoff_cancelled").count)() == 0


async def test_the_visitor_ends_the_chat_and_is_asked_to_rate_the_assistant(open_widget, demo_knowledge_base):
    widget = await open_widget()
    await widget.hello()
    await widget.say("do you take paypal")
    await widget.receive_until("message", sender="bot", timeout=30)

    await widget.send(type="end_chat")
    status, _ = await widget.receive_until("status", status="resolved")
    assert status["detail"]["csat"]["subject"] == "bot"
    await widget.send(type="csat", score=5)
    await widget.receive_until("csat_saved")
    rating = await database_sync_to_async(SatisfactionRating.objects.get)()
    assert (rating.subject, rating.score) == ("bot", 5)

    await widget.send(type="end_chat")
    error, _ = await widget.receive_until("error")
    assert error["code"] == "end_failed" and "already resolved" in error["message"]
