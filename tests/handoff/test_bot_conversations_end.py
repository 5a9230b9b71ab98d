"""Bot conversations end: idle ones are resolved by the beat sweep, with the bot's CSAT asked."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from chat.models import Conversation, Message
from chat.services import message_create
from handoff.models import HandoffEvent, SatisfactionRating
from handoff.services import conversations_resolve_idle, handoff_request, rating_submit
from handoff.tasks import resolve_idle_bot_conversations

pytestmark = pytest.mark.django_db


def idle(conversation: Conversation, *, minutes: int) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


def chat(conversation: Conversation) -> None:
    message_create(conversation=conversation, sender=Message.Sender.VISITOR, text="do you take paypal")
    message_create(conversation=conversation, sender=Message.Sender.BOT, text="We accept PayPal.")


def test_an_idle_bot_conversation_is_resolved_and_asks_to_rate_the_assistant(conversation, settings):
    settings.HANDOFF_BOT_IDLE_RESOLVE_MINUTES = 30
    chat(conversation)
    idle(conversation, minutes=31)

    assert resolve_idle_bot_conversations() == 1

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED
    ask = conversation.messages.get(metadata__kind="csat_request")
    assert ask.metadata["subject"] == "bot"
    assert HandoffEvent.objects.get(conversation=conversation).reason == "No activity for 30 minutes"
    rating = rating_submit(conversation=conversation, score=4)
    assert rating.subject == SatisfactionRating.Subject.BOT


def test_recent_people_and_empty_conversations_are_left_alone(make_agent, settings):
    from tests.factories import ConversationFactory

    settings.HANDOFF_BOT_IDLE_RESOLVE_MINUTES = 30
    recent, waiting, empty = ConversationFactory(), ConversationFactory(), ConversationFactory()
    for conversation in (recent, waiting):
        chat(conversation)
    handoff_request(conversation=waiting, reason="Visitor asked")
    idle(recent, minutes=29)
    idle(waiting, minutes=90)
    idle(empty, minutes=90)

    assert conversations_resolve_idle() == []
    assert set(Conversation.objects.values_list("status", flat=True)) == {"bot", "queued"}


def test_a_visitor_who_wrote_again_keeps_the_conversation_open(conversation, settings):
    settings.HANDOFF_BOT_IDLE_RESOLVE_MINUTES = 30
    chat(conversation)
    idle(conversation, minutes=31)
    message_create(conversation=conversation, sender=Message.Sender.VISITOR, text="one more thing")

    assert conversations_resolve_idle() == []
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.BOT


def test_the_sweep_is_on_the_beat_schedule_and_can_be_turned_off(conversation, settings):
    schedule = django_settings.CELERY_BEAT_SCHEDULE["handoff-resolve-idle-bot-conversations"]
    assert schedule["task"] == resolve_idle_bot_conversations.name
    settings.HANDOFF_BOT_IDLE_RESOLVE_MINUTES = 0
    chat(conversation)
    idle(conversation, minutes=600)
    assert conversations_resolve_idle() == []
