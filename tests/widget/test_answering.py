"""Answers as durable work: an acknowledged question is answered once, in order, even when the
work that was answering it died (widget.answering). Issue 16 item 15, issue 17 "Daphne killed"."""

import datetime as dt
import threading

import pytest
from django.utils import timezone

from chat.db import database_sync_to_async
from chat.models import Conversation, Message
from chat.services import message_create
from tests.factories import ConversationFactory
from widget import answering

pytestmark = pytest.mark.django_db(transaction=True)


def acked_then_lost(conversation: Conversation, text: str, *, seconds_ago: float = 60) -> Message:
    """A visitor message stored and acknowledged by a process that died before answering it."""
    message, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=text)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(seconds=seconds_ago))
    return message


def bot_replies(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.filter(sender=Message.Sender.BOT).order_by("seq"))


def test_the_sweep_answers_a_question_whose_answer_died_with_its_process(scripted_bot):
    conversation = ConversationFactory()
    question = acked_then_lost(conversation, "Do you ship to Norway?")

    assert answering.answers_sweep() == 1

    [reply] = bot_replies(conversation)
    assert reply.metadata["reply_to"] == question.seq
    question.refresh_from_db()
    assert question.handled_at is not None
    assert answering.answers_sweep() == 0  # handled: nothing left for the next sweep


def test_the_sweep_leaves_messages_being_answered_now_alone(scripted_bot):
    conversation = ConversationFactory()
    acked_then_lost(conversation, "Just sent", seconds_ago=1)
    assert answering.answers_sweep() == 0
    assert bot_replies(conversation) == []


def test_a_question_answered_twice_is_stored_once(scripted_bot):
    """A redelivered task, or the sweep racing the original work: one answer."""
    conversation = ConversationFactory()
    question = acked_then_lost(conversation, "Where is my parcel?")
    answering.visitor_message_answer(message_id=question.pk)
    answering.visitor_message_answer(message_id=question.pk)
    answering.answers_sweep()
    assert len(bot_replies(conversation)) == 1


def test_two_runs_at_the_same_moment_store_one_answer(scripted_bot):
    """Both runs are inside the answer when they start: the advisory lock and the conditional
    claim in the reply's transaction keep the second from storing its own."""
    conversation = ConversationFactory()
    question = acked_then_lost(conversation, "Two workers got me")
    scripted_bot.gate = threading.Event()
    threads = [threading.Thread(target=answering.visitor_message_answer, kwargs={"message_id": question.pk})]
    threads.append(threading.Thread(target=answering.visitor_message_answer, kwargs={"message_id": question.pk}))
    for thread in threads:
        thread.start()
    scripted_bot.gate.set()
    for thread in threads:
        thread.join(15)
    assert len(bot_replies(conversation)) == 1


def test_lost_questions_are_answered_in_the_order_asked(scripted_bot):
    conversation = ConversationFactory()
    first = acked_then_lost(conversation, "first?")
    second = acked_then_lost(conversation, "second?")
    # The later message's work runs first (e.g. the earlier one's task was lost): it answers both, in order.
    answering.visitor_message_answer(message_id=second.pk)
    assert [reply.metadata["reply_to"] for reply in bot_replies(conversation)] == [first.seq, second.seq]
    assert scripted_bot.questions == ["first?", "second?"]


def test_a_lost_question_in_a_conversation_a_person_took_is_passed_to_them_not_answered(scripted_bot):
    conversation = ConversationFactory()
    question = acked_then_lost(conversation, "Hello?")
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.QUEUED)
    assert answering.answers_sweep() == 1
    assert bot_replies(conversation) == []
    question.refresh_from_db()
    assert question.handled_at is not None


async def test_a_normal_answer_marks_its_question_handled(open_widget, scripted_bot):
    """The widget's own path leaves nothing for the sweep."""
    widget = await open_widget()
    await widget.hello()
    ack = await widget.say("How long does shipping take?")
    await widget.receive_until("message", sender="bot")

    @database_sync_to_async
    def handled_at():
        return Message.objects.get(conversation__public_id=widget.welcome["conversation"], seq=ack["seq"]).handled_at

    assert await handled_at() is not None
