"""A real Celery worker over Redis scores visitor messages and hands an angry conversation off."""

import pytest
from django.db import transaction

from chat.models import Conversation, Message
from chat.services import conversation_start, message_create
from handoff.models import Handoff
from tests.support.services import wait_for
from triggers.models import TriggerFiring, TriggerRule
from triggers.services import sentiment_score_enqueue, trigger_rule_save

pytestmark = [pytest.mark.redis, pytest.mark.worker]

ANGRY = [
    "This is taking far too long, I am not happy",
    "I hate this, nothing works",
    "I am very angry about the delay",
]


def send(conversation: Conversation, text: str) -> Message:
    """What the chat pipeline does: store the message, enqueue its scoring once that commits."""
    with transaction.atomic():
        message, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=text)
        sentiment_score_enqueue(message=message)
    return message


@pytest.mark.django_db(transaction=True)
def test_a_run_of_angry_messages_hands_the_conversation_off(celery_worker):
    TriggerRule.objects.all().delete()
    trigger_rule_save(
        rule=TriggerRule(
            name="Three unhappy messages",
            conditions=[{"kind": "sentiment", "scope": "average", "last": 3, "below": -0.5}],
            priority=2,
            reason_label="Upset over three messages",
        )
    )
    conversation = conversation_start()

    for number, text in enumerate(ANGRY, start=1):
        message = send(conversation, text)
        score = wait_for(
            lambda message=message: (
                Message.objects.filter(pk=message.pk, sentiment__isnull=False)
                .values_list("sentiment", flat=True)
                .first()
            ),
            timeout=90,
            what=f"message {number} to be scored by the worker",
        )
        assert score < -0.5, (text, score)
        if number < len(ANGRY):
            conversation.refresh_from_db()
            assert conversation.status == Conversation.Status.BOT, f"handed off after only {number} message(s)"

    wait_for(
        lambda: Conversation.objects.filter(pk=conversation.pk, status=Conversation.Status.QUEUED).exists(),
        timeout=90,
        what="the handoff",
    )
    conversation.refresh_from_db()
    scores = list(conversation.messages.filter(sender="visitor").order_by("seq").values_list("sentiment", flat=True))
    assert len(scores) == 3 and all(score < -0.5 for score in scores)
    assert conversation.sentiment < -0.5
    firing = TriggerFiring.objects.get(conversation=conversation)
    assert (firing.phase, firing.decided_handoff) == ("sentiment", True)
    assert firing.matched["matched"][0]["average"] < -0.5
    handoff = Handoff.objects.get(conversation=conversation)
    assert (handoff.source, handoff.reason, handoff.priority) == ("trigger", "Upset over three messages", 2)
    assert handoff.trigger["rule_name"] == "Three unhappy messages"
