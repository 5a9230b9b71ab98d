"""The summary tells the truth: each need with the bot's answer to it, and the rule with its evidence."""

import pytest

from chat.models import Message
from chat.services import message_create
from handoff.services import handoff_request
from handoff.summary import summary_extractive

pytestmark = pytest.mark.django_db


def say(conversation, sender: str, text: str, **metadata) -> Message:
    return message_create(conversation=conversation, sender=sender, text=text, metadata=metadata)[0]


def test_each_question_is_paired_with_the_answer_to_it_and_the_rule_says_what_it_saw(conversation):
    shipping = say(conversation, "visitor", "How long does shipping take?")
    canada = say(conversation, "visitor", "Do you ship to Canada?")
    say(conversation, "bot", "Delivery takes 2-4 working days.", confidence=1.0, reply_to=shipping.seq)
    say(conversation, "bot", "Yes, we ship to Canada in 5-8 days.", confidence=0.996, reply_to=canada.seq)
    say(conversation, "visitor", "do you take paypal")
    trigger = {
        "rule_name": "Bot stuck twice",
        "matched": {
            "kind": "group",
            "match": "any",
            "matched": [{"kind": "bot", "signal": "negative_feedback", "count": 2}],
        },
    }

    handoff = handoff_request(conversation=conversation, reason="The bot could not help", trigger=trigger)

    assert handoff.summary.splitlines() == [
        "The visitor asked:",
        "1. “How long does shipping take?” → bot answered (confidence 100%): “Delivery takes 2-4 working days.”",
        "2. “Do you ship to Canada?” → bot answered (confidence 100%): “Yes, we ship to Canada in 5-8 days.”",
        "3. “do you take paypal” → not answered",
        "Handed off because: The bot could not help (rule “Bot stuck twice”: bot negative_feedback: count 2)",
    ]


def test_declines_the_button_and_long_conversations_read_plainly(conversation):
    question = say(conversation, "visitor", "Can I pay with gold bars?")
    say(conversation, "bot", "I'm not sure about that one.", confidence=0.12, declined=True, reply_to=question.seq)
    for n in range(9):
        say(conversation, "visitor", f"question {n}")
    say(conversation, "visitor", "I'd like to talk to a person.", handoff_button=True)

    lines = summary_extractive(
        messages=list(conversation.messages.order_by("seq")), reason="Visitor asked"
    ).splitlines()

    assert lines[1] == "(3 earlier messages in the transcript)"
    assert lines[-2] == "11. (pressed “Talk to a person”)"
    assert lines[-1] == "Handed off because: Visitor asked"
    early = summary_extractive(messages=list(conversation.messages.order_by("seq")[:2]), reason="x")
    assert "→ bot declined (confidence 12%): “I'm not sure about that one.”" in early
