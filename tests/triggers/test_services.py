"""Triggers against the real database: context, logging, tags, decisions, cache, sentiment tasks."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import BusinessHours
from chat.models import Conversation, Message
from handoff.models import Handoff
from tests.factories import TeamFactory
from triggers import rule_cache
from triggers.defaults import DEFAULT_RULES
from triggers.models import RuleSetVersion, TriggerFiring, TriggerRule
from triggers.rule_cache import rules_compiled
from triggers.selectors import triggers_context_build
from triggers.services import (
    message_sentiment_score,
    message_sentiment_store,
    sentiment_score_enqueue,
    triggers_decision_apply,
    triggers_defaults_install,
    triggers_evaluate_message,
)

pytestmark = pytest.mark.django_db

REFUND = {"kind": "keywords", "terms": ["refund"]}


def test_the_migration_installs_the_shipped_default_rules():
    assert list(TriggerRule.objects.values_list("name", flat=True)) == [rule["name"] for rule in DEFAULT_RULES]
    assert all(rule.team is None for rule in TriggerRule.objects.all()), "teams come later: the default queue"


def test_installing_the_defaults_again_adds_only_missing_ones():
    TriggerRule.objects.filter(name="Complaint").delete()
    assert [rule.name for rule in triggers_defaults_install()] == ["Complaint"]
    assert triggers_defaults_install() == []
    assert TriggerRule.objects.count() == len(DEFAULT_RULES)


def test_the_context_reads_the_recent_conversation(conversation, say, no_rules):
    first = say("where is my parcel")
    Message.objects.filter(pk=first.pk).update(sentiment=-0.2)
    say("It is on its way.", sender=Message.Sender.BOT, confidence=0.9)
    say("it is not, the tracking has not moved", sender=Message.Sender.VISITOR)
    say("Sorry, I am not sure.", sender=Message.Sender.BOT, confidence=0.3, feedback="negative")
    say("hello?")
    current = say("anyone there???")

    message, context, customer = triggers_context_build(
        message=current, now=current.created_at + dt.timedelta(seconds=5)
    )

    assert message.text == "anyone there???" and message.sentiment is None
    assert context.visitor_message_count == 4 and context.message_count == 6
    assert context.previous_visitor_sentiments == (-0.2,), "only scored messages"
    assert context.bot_confidences == (0.9, 0.3)
    assert context.negative_feedback_count == 1
    assert context.previous_visitor_texts[-1] == "hello?"
    waited = (
        current.created_at - Message.objects.get(conversation=conversation, text="hello?").created_at
    ).total_seconds()
    assert context.waiting_seconds == pytest.approx(waited + 5), "since the first unanswered message"
    assert customer.attributes == {"plan": "pro"}


def test_business_hours_are_read_only_when_a_rule_needs_them(conversation, say, make_rule):
    team = TeamFactory(slug="night-shift", time_zone="UTC")
    BusinessHours.objects.create(team=team, weekday=0, opens_at=dt.time(9), closes_at=dt.time(17))
    message = say("hello")
    monday_night = dt.datetime(2025, 6, 2, 22, 0, tzinfo=dt.UTC)

    make_rule("tag only", [REFUND], handoff=False, tags=["refund"])
    _, context, _ = triggers_context_build(message=message, ruleset=rules_compiled().ruleset, now=monday_night)
    assert context.business_hours_open is None

    make_rule("closed", [{"kind": "context", "field": "business_hours", "value": "closed"}], handoff=False, tags=["x"])
    _, context, _ = triggers_context_build(message=message, ruleset=rules_compiled().ruleset, now=monday_night)
    assert context.business_hours_open is False
    assert context.teams_open == {"night-shift": False}


def test_out_of_hours_means_the_hours_of_the_team_the_handoff_would_go_to(conversation, say, make_rule, settings):
    settings.HANDOFF_DEFAULT_TEAM = "support"
    support = TeamFactory(slug="support", time_zone="UTC")
    night = TeamFactory(slug="night-shift", time_zone="UTC")
    BusinessHours.objects.create(team=support, weekday=0, opens_at=dt.time(8), closes_at=dt.time(20))
    BusinessHours.objects.create(team=night, weekday=0, opens_at=dt.time(0), closes_at=dt.time(23, 59))
    closed = [{"kind": "context", "field": "business_hours", "value": "closed"}]
    make_rule("closed, default queue", closed, order=1, handoff=False, tags=["support-closed"])
    make_rule("closed, night shift", closed, order=2, team=night, handoff=False, tags=["night-closed"])
    message = say("hello")
    monday_night = dt.datetime(2025, 6, 2, 22, 0, tzinfo=dt.UTC)

    decision = triggers_evaluate_message(message=message, now=monday_night)

    # Support (where the first rule hands off) is closed although the night shift is open; the
    # night-shift rule reads the night shift's own hours.
    assert decision.tags_added == ("support-closed",)


def test_matching_rules_are_logged_tagged_and_the_first_handoff_is_decided(conversation, say, make_rule):
    billing = TeamFactory(slug="billing")
    make_rule("tag refunds", [REFUND], order=10, handoff=False, tags=["refund"])
    winner = make_rule(
        "refunds to billing",
        [REFUND],
        order=20,
        team=billing,
        priority=2,
        reason_label="Refund request",
        tags=["money"],
    )
    make_rule("any refund, later", [REFUND], order=30)
    make_rule("never", [{"kind": "keywords", "terms": ["zebra"]}], order=5)

    message = say("I want a refund")
    decision = triggers_evaluate_message(message=message)

    assert decision.handoff and decision.rule == winner
    assert (decision.team, decision.priority, decision.reason) == (billing, 2, "Refund request")
    assert decision.trigger["matched"] == {
        "kind": "group",
        "match": "all",
        "matched": [{"kind": "keywords", "matched": "refund"}],
    }
    firings = list(TriggerFiring.objects.order_by("id").values_list("rule_name", "decided_handoff", "phase"))
    assert firings == [
        ("tag refunds", False, "message"),
        ("refunds to billing", True, "message"),
        ("any refund, later", False, "message"),
    ]
    assert TriggerFiring.objects.get(rule=winner).actions["team"] == "billing"
    conversation.refresh_from_db()
    assert conversation.tags == ["refund", "money"]
    assert decision.tags_added == ("refund", "money")


def test_a_conversation_already_with_a_person_is_logged_but_not_handed_off_again(conversation, say, make_rule):
    make_rule("refunds", [REFUND])
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.ASSIGNED)
    decision = triggers_evaluate_message(message=say("refund"))
    assert not decision.handoff
    assert TriggerFiring.objects.get().decided_handoff is False


def test_only_visitor_messages_are_evaluated(conversation, say, make_rule):
    make_rule("refunds", [REFUND])
    assert not triggers_evaluate_message(message=say("refunds take 5 days", sender=Message.Sender.BOT)).handoff
    assert not TriggerFiring.objects.exists()


def test_a_rule_fires_once_per_message_across_phases(conversation, say, make_rule):
    make_rule("refund or angry", [REFUND, {"kind": "sentiment", "below": -0.5}], match="any")
    message = say("refund now")
    assert triggers_evaluate_message(message=message, phase="message").handoff
    message = message_sentiment_store(message_id=message.pk, score=-0.9)
    assert not triggers_evaluate_message(message=message, phase="sentiment").fired_rule_ids
    assert TriggerFiring.objects.count() == 1


def test_an_edited_rule_applies_to_the_next_message(conversation, say, make_rule):
    rule = make_rule("refunds", [REFUND])
    rules_compiled()  # cached in this process
    assert not triggers_evaluate_message(message=say("chargeback")).handoff
    rule.conditions = [{"kind": "keywords", "terms": ["chargeback"]}]
    rule.save()
    assert triggers_evaluate_message(message=say("chargeback")).handoff


def test_another_process_editing_rules_is_seen_through_the_version_row(conversation, say, make_rule):
    rule = make_rule("refunds", [REFUND])
    assert triggers_evaluate_message(message=say("refund")).handoff
    # What another process does: change the row (no signal runs here) and bump the shared token.
    TriggerRule.objects.filter(pk=rule.pk).update(enabled=False)
    assert triggers_evaluate_message(message=say("refund")).handoff, "this process has not been told yet"
    RuleSetVersion.objects.update(token=uuid.uuid4())
    assert triggers_evaluate_message(message=say("refund")).handoff, "the token is read again within a second"
    rule_cache._current_token.forget()  # as a second later (rule_cache reads the token at most every second)
    assert not triggers_evaluate_message(message=say("refund")).handoff


def test_the_cached_rules_cost_no_query_and_one_a_second(make_rule):
    make_rule("refunds", [REFUND])
    rules_compiled()
    with CaptureQueriesContext(connection) as queries:
        rules_compiled()
    assert len(queries) == 0, "the version token was read just now"
    rule_cache._current_token.forget()  # as a second later
    with CaptureQueriesContext(connection) as queries:
        rules_compiled()
    assert len(queries) == 1, "the version token"


def test_the_running_sentiment_is_recomputed_from_the_stored_scores(conversation, say, no_rules):
    first, second, third = say("a"), say("b"), say("c")
    message_sentiment_store(message_id=second.pk, score=-0.8)  # scored out of order
    message_sentiment_store(message_id=first.pk, score=0.4)
    conversation.refresh_from_db()
    assert conversation.sentiment == pytest.approx(0.4 + 0.5 * (-0.8 - 0.4))
    message_sentiment_store(message_id=third.pk, score=-1.0)
    message_sentiment_store(message_id=third.pk, score=-1.0)  # a retry changes nothing
    conversation.refresh_from_db()
    assert conversation.sentiment == pytest.approx(-0.2 + 0.5 * (-1.0 + 0.2))


def test_a_scored_angry_message_hands_off_through_the_default_rules(
    conversation, say, django_capture_on_commit_callbacks
):
    TeamFactory(slug="support")
    with django_capture_on_commit_callbacks(execute=True):
        message = say("This is absolutely ridiculous, worst service ever. I hate this.")
        sentiment_score_enqueue(message=message)  # Celery is eager in this process

    message.refresh_from_db()
    conversation.refresh_from_db()
    assert message.sentiment < -0.8
    assert conversation.sentiment == message.sentiment
    assert conversation.status == Conversation.Status.QUEUED
    handoff = Handoff.objects.get(conversation=conversation)
    assert (handoff.source, handoff.reason, handoff.priority) == ("trigger", "Upset customer", 2)
    assert handoff.trigger["rule_name"] == "Strong negative sentiment"
    assert handoff.trigger["matched"]["matched"][0]["scope"] == "message"
    firing = TriggerFiring.objects.get(conversation=conversation, decided_handoff=True)
    assert firing.phase == "sentiment"
    assert "negative-sentiment" in conversation.tags


def test_scoring_a_message_and_running_the_sentiment_rules_takes_a_fixed_number_of_queries(
    conversation, say, django_assert_num_queries
):
    first = say("where is my parcel")
    say("It is on its way.", sender=Message.Sender.BOT, confidence=0.9)
    message = say("ok, when will it arrive?")  # neutral: the default sentiment rules do not fire
    # Loads the models, compiles the rules; their version and the teams' hours are then read at most
    # every second or few per process.
    message_sentiment_score(message_id=first.pk)
    # 1 the message; storing its score: 2 lock the conversation and read it with its customer, 3 store the
    # message's score and read the conversation's last scores (one statement), 4 its running score; 5 what
    # the sentiment rules read (the firings already logged, the counts, the recent messages: one
    # statement). The conversation is not read again for the rules. Plus the savepoint pair (BEGIN/COMMIT in
    # production).
    with django_assert_num_queries(7):
        decision = message_sentiment_score(message_id=message.pk)
    assert not decision.fired_rule_ids
    message.refresh_from_db()
    assert message.sentiment is not None


def test_the_sentiment_phase_reads_nothing_without_rules_that_read_sentiment(
    conversation, say, make_rule, django_assert_num_queries
):
    make_rule("refunds", [REFUND])
    message = say("refund please")
    message_sentiment_store(message_id=message.pk, score=-0.9)
    message.refresh_from_db()
    rules_compiled()
    with django_assert_num_queries(0):
        decision = triggers_evaluate_message(message=message, phase="sentiment")
    assert not decision.fired_rule_ids


def test_the_pipeline_scores_the_message_so_the_worker_does_not_embed_it_again(
    conversation, say, no_rules, monkeypatch, django_capture_on_commit_callbacks
):
    from nlp import embeddings
    from triggers.sentiment import message_sentiment

    real_embed, embedded = embeddings.embed, []
    monkeypatch.setattr(embeddings, "embed", lambda texts: embedded.append(list(texts)) or real_embed(texts))
    text = "my order is three weeks late and nobody answers"
    embeddings.recent_texts_forget()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = say(text)
        sentiment_score_enqueue(message=message)  # the pipeline embeds it here, for the rules and retrieval too
    assert embedded == [[text]]
    embeddings.recent_texts_forget()  # as in a worker process of its own
    for callback in callbacks:
        callback()  # the task, eager here: stores the score it was given
    assert embedded == [[text]], "the worker did not run the model"
    message.refresh_from_db()
    assert message.sentiment == message_sentiment(text).score


def test_a_broker_failure_does_not_lose_the_message_and_the_sweep_scores_it(
    conversation, say, no_rules, monkeypatch, django_capture_on_commit_callbacks
):
    from triggers import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.score_message_sentiment, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        message = say("this is taking forever and I am not happy")
        sentiment_score_enqueue(message=message)
    message.refresh_from_db()
    assert message.sentiment is None, "stored, not scored"

    monkeypatch.undo()
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.score_unscored_messages() == 1
    message.refresh_from_db()
    assert message.sentiment is not None and message.sentiment < 0


def test_applying_a_decision_messages_the_visitor_and_hands_off(conversation, say, make_rule, monkeypatch):
    sent = []
    monkeypatch.setattr("chat.realtime.send_to_group", lambda group, event: sent.append((group, event)))
    vip_team = TeamFactory(slug="vip-desk")
    make_rule("greet", [REFUND], order=1, handoff=False, visitor_message="Let me get someone for you.")
    make_rule("refunds", [REFUND], order=2, notify_team=vip_team, reason_label="Refund", priority=1)

    decision = triggers_evaluate_message(message=say("refund"))
    triggers_decision_apply(decision=decision)

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.QUEUED
    system = list(
        conversation.messages.filter(sender=Message.Sender.SYSTEM).order_by("seq").values_list("text", flat=True)
    )
    assert system[0] == "Let me get someone for you.", "the rule's message comes before the queue position"
    group, event = sent[0]
    assert event.pop("id"), "each broadcast has an id (an inbox socket handles it once)"
    assert (group, event) == (
        f"team_{vip_team.pk}",
        {"type": "inbox_changed", "conversation_id": conversation.pk, "status": "bot", "trigger_alert": "Refund"},
    )
    assert Handoff.objects.get(conversation=conversation).reason == "Refund"


def test_out_of_hours_requests_are_labelled_for_the_morning(conversation, say):
    team = TeamFactory(slug="support", time_zone="UTC")
    BusinessHours.objects.create(team=team, weekday=0, opens_at=dt.time(9), closes_at=dt.time(17))
    monday_night = dt.datetime(2025, 6, 2, 22, 0, tzinfo=dt.UTC)

    decision = triggers_evaluate_message(message=say("can I talk to a real person"), now=monday_night)

    assert (decision.rule.name, decision.priority) == ("Out of hours: queue for the morning", 1)
    assert list(TriggerFiring.objects.order_by("id").values_list("rule_name", flat=True)) == [
        "Out of hours: queue for the morning",
        "Visitor asks for a person",
    ]
    conversation.refresh_from_db()
    assert conversation.tags == ["out-of-hours"]


def test_the_bot_stuck_twice_hands_off(conversation, say):
    say("how do I pair the scanner")
    say("I am not sure about that.", sender=Message.Sender.BOT, confidence=0.3)
    say("the scanner will not pair with my phone")
    say("Sorry, I could not find an answer.", sender=Message.Sender.BOT, declined=True)
    decision = triggers_evaluate_message(message=say("hello?"))
    assert decision.reason == "The bot could not help"
    assert decision.trigger["matched"]["matched"][0]["confidences"] == [0.3, 0.0]


def test_automatic_messages_stop_once_a_person_has_the_conversation(conversation, say, make_rule):
    make_rule("refunds", [REFUND], handoff=False, visitor_message="Refunds take 5 days.", tags=["refund"])
    assert triggers_evaluate_message(message=say("refund")).visitor_messages == ("Refunds take 5 days.",)
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.ASSIGNED)
    decision = triggers_evaluate_message(message=say("refund?"))
    assert decision.fired_rule_ids and decision.visitor_messages == ()


def test_knowledge_base_articles_tagged_with_a_category_feed_its_intent(conversation, say, make_rule):
    from tests.factories import ArticleFactory

    make_rule("shipping questions", [{"kind": "intent", "category": "shipping"}], handoff=False, tags=["shipping"])
    question = "how long will delivery to Canada take"
    assert not triggers_evaluate_message(message=say(question)).fired_rule_ids, "no article is tagged shipping yet"
    ArticleFactory(title="Delivery times to Canada", tags=["Shipping"])
    assert triggers_evaluate_message(message=say(question)).fired_rule_ids, "the new article counts at once"
