"""Greetings, thanks and goodbyes get a short reply of their own, never a decline."""

import pytest

from knowledge.answers import DECLINE_TEXT, answer_question
from knowledge.smalltalk import GOODBYE, GREETING, THANKS, small_talk_kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hi", GREETING),
        ("Hello there!", GREETING),
        ("good morning team", GREETING),
        ("hey, how are you?", GREETING),
        ("thanks", THANKS),
        ("Thank you so much, that's really helpful!", THANKS),
        ("ok great thx", THANKS),
        ("cheers mate", THANKS),
        ("bye", GOODBYE),
        ("thanks, bye!", GOODBYE),
        ("That's all, have a nice day", GOODBYE),
    ],
)
def test_it_recognises_messages_that_are_only_small_talk(text, kind):
    assert small_talk_kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "hi, where is my order?",
        "thanks but my parcel still hasn't arrived",
        "hello I want a refund",
        "bye bye money, this is the third time my card was charged",
        "do you sell gift cards",
        "",
        "!!!",
        "thanks " * 10,
    ],
)
def test_anything_with_a_question_or_a_problem_in_it_is_not_small_talk(text):
    assert small_talk_kind(text) is None


@pytest.mark.django_db
def test_small_talk_is_answered_briefly_and_never_declined(demo_kb, settings):
    settings.HANDOFF_SMALL_TALK_REPLIES = {
        "greeting": "Hi! Ask me anything about your order.",
        "thanks": "Happy to help!",
        "goodbye": "Bye for now.",
    }
    tokens = []

    greeting = answer_question(question="Hello!", on_token=tokens.append)
    thanks = answer_question(question="thanks a lot")
    goodbye = answer_question(question="ok bye")

    assert [greeting.text, thanks.text, goodbye.text] == [
        "Hi! Ask me anything about your order.",
        "Happy to help!",
        "Bye for now.",
    ]
    assert tokens == [greeting.text]
    for answer in (greeting, thanks, goodbye):
        assert not answer.declined and answer.text != DECLINE_TEXT
        assert answer.mode == "small_talk"
        metadata = answer.as_metadata()
        # No confidence at all: the "bot struggling" rules skip replies without one, and a decline is
        # what the learning loop and the out-of-scope counts look at.
        assert metadata["declined"] is False and "confidence" not in metadata and metadata["sources"] == []


@pytest.mark.django_db
def test_a_greeting_with_a_question_is_answered_from_the_knowledge_base(demo_kb):
    answer = answer_question(question="hi, do you accept paypal?")

    assert answer.mode == "extractive"
    assert answer.sources[0].article_id == demo_kb["payment-methods"].pk
