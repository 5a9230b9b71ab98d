"""What a visitor message leads to (widget.pipeline), with the shipped rules and the demo knowledge base:
a rule about the bot's history never swallows a new question the bot can answer."""

import datetime as dt

import pytest

from agents.models import BusinessHours
from chat.models import Conversation, Message
from chat.services import message_create
from handoff.models import Handoff
from tests.factories import ConversationFactory, TeamFactory
from triggers.models import TriggerFiring, TriggerRule
from widget.pipeline import handle_visitor_message, handoff_request_from_visitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped_rules_and_demo_answers(db):
    from knowledge.demo import load_demo_knowledge_base
    from triggers.services import triggers_defaults_install

    load_demo_knowledge_base()
    return triggers_defaults_install(replace=True)


def ask(conversation: Conversation, text: str) -> Message | None:
    message, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=text)
    return handle_visitor_message(message=message)


def rule_named(name: str) -> TriggerRule:
    return TriggerRule.objects.get(name=name)


def test_two_questions_one_article_answers_do_not_make_the_third_question_vanish(shipped_rules_and_demo_answers):
    conversation = ConversationFactory()
    assert ask(conversation, "How long does shipping take?") is not None
    assert ask(conversation, "Do you ship to Canada?") is not None

    reply = ask(conversation, "do you take paypal")

    assert reply is not None and "PayPal" in reply.text
    assert not TriggerFiring.objects.filter(conversation=conversation, rule=rule_named("Bot stuck twice")).exists()
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.BOT


def test_after_two_thumbs_down_a_known_question_is_answered_with_a_person_offered(shipped_rules_and_demo_answers):
    conversation = ConversationFactory()
    for question in ("How long does shipping take?", "where is my order"):
        answer = ask(conversation, question)
        Message.objects.filter(pk=answer.pk).update(metadata={**answer.metadata, "feedback": "down"})

    reply = ask(conversation, "do you take paypal")

    assert reply is not None and "PayPal" in reply.text
    assert reply.metadata["offer_person"] is True
    firing = TriggerFiring.objects.get(conversation=conversation, rule=rule_named("Bot stuck twice"))
    assert firing.decided_handoff is False  # the log says no handoff came of it
    assert not Handoff.objects.filter(conversation=conversation).exists()


def test_after_two_thumbs_down_a_question_the_bot_declines_goes_to_a_person(shipped_rules_and_demo_answers):
    conversation = ConversationFactory()
    for question in ("How long does shipping take?", "where is my order"):
        answer = ask(conversation, question)
        Message.objects.filter(pk=answer.pk).update(metadata={**answer.metadata, "feedback": "down"})

    assert ask(conversation, "What is the airspeed velocity of an unladen swallow?") is None

    handoff = Handoff.objects.get(conversation=conversation)
    assert handoff.reason == "The bot could not help"
    # The decline itself is not shown: the visitor reads that a person is coming instead.
    assert not conversation.messages.filter(sender=Message.Sender.BOT, metadata__declined=True).exists()


def test_a_rule_set_to_answer_then_hand_off_answers_first_then_queues(shipped_rules_and_demo_answers):
    TriggerRule.objects.create(
        name="Payment questions go to billing",
        order=5,
        conditions=[{"kind": "keywords", "terms": ["paypal"]}],
        when_answerable=TriggerRule.WhenAnswerable.ANSWER_THEN_HANDOFF,
        reason_label="Payment question",
    )
    conversation = ConversationFactory()

    reply = ask(conversation, "do you take paypal")

    assert reply is not None and "PayPal" in reply.text and "offer_person" not in reply.metadata
    handoff = Handoff.objects.get(conversation=conversation)
    assert handoff.reason == "Payment question" and handoff.bot_answered_before is True
    system = conversation.messages.filter(sender=Message.Sender.SYSTEM).get()
    assert system.seq > reply.seq  # the visitor reads the answer, then that a person is coming


def test_asking_for_a_person_still_hands_off_without_an_answer(shipped_rules_and_demo_answers):
    conversation = ConversationFactory()

    assert ask(conversation, "I want to talk to a human") is None

    assert Handoff.objects.get(conversation=conversation).reason == "Asked for a person"
    assert not conversation.messages.filter(sender=Message.Sender.BOT).exists()


def test_the_button_and_the_typed_request_queue_at_the_same_priority_by_the_same_rule(shipped_rules_and_demo_answers):
    typed, clicked = ConversationFactory(), ConversationFactory()

    ask(typed, "I want to talk to a human")
    handoff_request_from_visitor(conversation=clicked)

    by_words, by_button = Handoff.objects.get(conversation=typed), Handoff.objects.get(conversation=clicked)
    assert by_button.priority == by_words.priority == rule_named("Visitor asks for a person").priority
    assert by_button.reason == by_words.reason == "Asked for a person"
    assert by_button.trigger["matched"]["matched"][0]["via"] == "button"
    # The click reads as the visitor's own words in the transcript the agent opens.
    assert clicked.messages.filter(sender=Message.Sender.VISITOR, metadata__handoff_button=True).count() == 1


def test_the_button_queues_even_with_no_rule_and_a_second_click_changes_nothing(db):
    TriggerRule.objects.all().delete()
    conversation = ConversationFactory()

    first = handoff_request_from_visitor(conversation=conversation)
    again = handoff_request_from_visitor(conversation=conversation)

    assert first is not None and again == first
    assert (first.reason, first.source) == ("Visitor asked for a person", "visitor")
    assert conversation.messages.filter(sender=Message.Sender.VISITOR).count() == 1


def test_the_shipped_out_of_hours_rule_fires_when_the_default_team_is_closed(shipped_rules_and_demo_answers, settings):
    settings.HANDOFF_DEFAULT_TEAM = "support"
    settings.HANDOFF_FIXED_CLOCK = dt.datetime(2026, 12, 1, 21, 0, tzinfo=dt.UTC)  # Tuesday 21:00
    support = TeamFactory(slug="support", time_zone="UTC")
    night_shift = TeamFactory(slug="night-shift", time_zone="UTC")
    for weekday in range(7):
        BusinessHours.objects.create(team=night_shift, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23, 59))
        if weekday < 5:
            BusinessHours.objects.create(team=support, weekday=weekday, opens_at=dt.time(8), closes_at=dt.time(20))
    conversation = ConversationFactory()

    ask(conversation, "I want to talk to a human")

    handoff = Handoff.objects.get(conversation=conversation)
    assert handoff.reason == "Came in out of hours: reply by email if they have left"
    assert handoff.team == support
    assert "out-of-hours" in Conversation.objects.get(pk=conversation.pk).tags


@pytest.mark.parametrize(
    ("earlier", "system_every"),
    [
        (3, 0),  # a short conversation: the rules read all of it
        (30, 0),  # a long one: the rules' window holds the last ten turns
        (30, 2),  # a long one with two system messages after every turn: the window holds too few turns
    ],
)
def test_the_bots_history_is_the_one_the_conversation_has(earlier, system_every, django_assert_num_queries):
    from chat.selectors import conversation_history_for_bot
    from triggers.selectors import triggers_inputs_read
    from widget.pipeline import _bot_history

    conversation = ConversationFactory()
    for n in range(earlier):
        sender = Message.Sender.VISITOR if n % 2 == 0 else Message.Sender.BOT
        message_create(conversation=conversation, sender=sender, text=f"turn {n}")
        for _ in range(system_every):
            message_create(conversation=conversation, sender=Message.Sender.SYSTEM, text=f"note {n}")
    question, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text="and now?")
    recent = triggers_inputs_read(message=question).recent
    expected = conversation_history_for_bot(conversation=conversation, before_seq=question.seq)

    with django_assert_num_queries(1 if system_every else 0):  # read again only when the window falls short
        history = _bot_history(conversation=conversation, question=question, recent=recent)
    assert history == expected and len(history) == min(earlier, 10)
