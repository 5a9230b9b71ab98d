"""The widget's part of a handoff: triggers from messages, the email ask, feedback and the rating."""

import pytest

from chat.db import database_sync_to_async
from chat.models import Conversation, Customer, Message
from handoff.models import SatisfactionRating

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def default_rules(db):
    """Transactional tests flush the rules the data migration installed; put the defaults back."""
    from triggers.services import triggers_defaults_install

    return triggers_defaults_install(replace=True)


@database_sync_to_async
def conversation_of(widget) -> Conversation:
    return Conversation.objects.select_related("customer").get(public_id=widget.welcome["conversation"])


@database_sync_to_async
def resolve(conversation: Conversation) -> None:
    from handoff.services import handoff_resolve

    handoff_resolve(conversation=conversation)


async def test_asking_for_a_human_in_words_hands_off_without_the_bot(open_widget, scripted_bot, default_rules):
    widget = await open_widget()
    await widget.hello()
    await widget.say("can i tlak to a real persn please")
    status, _ = await widget.receive_until("status", status="queued")
    assert status["reason"] == "Asked for a person"  # the default rule's reason label
    assert "out_of_hours_message" in status["detail"] or "position" in status["detail"]
    await widget.drain(0.3)
    assert scripted_bot.questions == [], "the bot stays silent once a rule hands off"


async def test_an_ordinary_question_is_answered_by_the_bot(open_widget, scripted_bot, default_rules):
    widget = await open_widget()
    await widget.hello()
    await widget.say("How long does shipping take?")
    await widget.receive_until("message", sender="bot")
    assert scripted_bot.questions == ["How long does shipping take?"]


async def test_with_nobody_online_the_visitor_leaves_an_email(open_widget, scripted_bot, settings):
    settings.HANDOFF_EMAIL_ASK_AFTER_SECONDS = 0
    widget = await open_widget()
    await widget.hello()
    await widget.say("Is anyone there?")
    await widget.send(type="handoff_request")
    status, _ = await widget.receive_until("status", status="queued")
    assert status["detail"]["ask_email"] is True

    await widget.send(type="contact", email="not-an-email")
    error, _ = await widget.receive_until("error")
    assert error["code"] == "invalid_email"

    await widget.send(type="contact", email="ada@example.com")
    saved, _ = await widget.receive_until("contact_saved")
    assert saved["email"] == "ada@example.com"
    confirmation, _ = await widget.receive_until("message", sender="system")
    assert "ada@example.com" in confirmation["text"]
    conversation = await conversation_of(widget)
    assert conversation.customer.email == "ada@example.com"


async def test_the_visitor_rates_the_conversation_once_it_is_resolved(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    await widget.say("hello")
    await widget.send(type="csat", score=5)
    error, _ = await widget.receive_until("error")
    assert error["code"] == "rating_failed" and "once it is resolved" in error["message"]

    await resolve(await conversation_of(widget))
    status, _ = await widget.receive_until("status", status="resolved")
    assert status["detail"]["csat"] == {"subject": "bot", "agent_name": None, "handoff_id": None}

    await widget.send(type="csat", score=9)
    assert (await widget.receive_until("error"))[0]["code"] == "invalid_field"
    await widget.send(type="csat", score=4, comment="quick")
    assert (await widget.receive_until("csat_saved"))[0]["score"] == 4
    rating = await database_sync_to_async(SatisfactionRating.objects.get)()
    assert (rating.subject, rating.score, rating.comment) == ("bot", 4, "quick")


async def test_thumbs_down_is_stored_on_the_bot_answer(open_widget, scripted_bot):
    widget = await open_widget()
    await widget.hello()
    await widget.say("How long does shipping take?")
    answer, _ = await widget.receive_until("message", sender="bot")

    await widget.send(type="feedback", seq=answer["seq"] - 1, value="down")  # the visitor's own message
    assert (await widget.receive_until("error"))[0]["code"] == "feedback_failed"
    await widget.send(type="feedback", seq=answer["seq"], value="down")
    assert (await widget.receive_until("feedback_saved"))[0] == {
        "type": "feedback_saved",
        "seq": answer["seq"],
        "value": "down",
    }
    message = await database_sync_to_async(Message.objects.get)(sender="bot")
    assert message.metadata["feedback"] == "down"

    await widget.send(type="resume", after_seq=0)
    history, _ = await widget.receive_until("history")
    assert history["messages"][-1]["feedback"] == "down", "a reload shows the vote"
    assert await database_sync_to_async(Customer.objects.count)() == 1
