"""The admin's "test the rules" panel: which rules would fire for a message, or for each message of a stored
conversation, and why. Stores nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from chat.models import Conversation, Message
from triggers import detectors
from triggers.engine import (
    ConversationContext,
    CustomerContext,
    EngineResult,
    MessageContext,
    RuleSet,
    compile_rules,
    evaluate,
)
from triggers.models import TriggerFiring, TriggerRule
from triggers.rule_cache import rule_spec, ruleset_embedded
from triggers.selectors import message_vectors, rules_enabled, teams_open, triggers_context_build
from triggers.sentiment import score_texts


@dataclass(frozen=True)
class TriggerTestOutcome:
    result: EngineResult
    sentiment: Any  # triggers.sentiment.SentimentResult or None
    rules: dict[int, TriggerRule]
    errors: dict[int, str]
    frustration: dict[str, str]
    person_request: str


def _ruleset_with(rule: TriggerRule | None) -> tuple[dict[int, TriggerRule], RuleSet]:
    """Every enabled rule plus `rule` (even when disabled, so a draft can be tried), compiled."""
    rows = {row.pk: row for row in rules_enabled()}
    if rule is not None and rule.pk:
        rows[rule.pk] = rule
    specs = [dataclasses.replace(rule_spec(row), enabled=True) for row in rows.values()]
    return rows, ruleset_embedded(specs, plain=compile_rules(specs, embed=None))


@dataclass(frozen=True)
class ReplayedMessage:
    message: Message
    result: EngineResult
    fired_live: tuple[str, ...]  # the rules the firing log has for this message


@dataclass(frozen=True)
class ConversationTestOutcome:
    conversation: Conversation
    messages: list[ReplayedMessage]
    rules: dict[int, TriggerRule]
    errors: dict[int, str]


MAX_REPLAYED_MESSAGES = 200


def triggers_test_conversation(
    *, conversation: Conversation, rule: TriggerRule | None = None
) -> ConversationTestOutcome:
    """A stored conversation's visitor messages through the rules, each as it arrived: the history
    signals (repeating, rephrasing, low-confidence streaks, thumbs-down, sentiment trends) are read as
    they were then, by the live pipeline's own context builder. Beside each, what fired live."""
    rows, ruleset = _ruleset_with(rule)
    messages = list(conversation.messages.filter(sender=Message.Sender.VISITOR).order_by("seq")[:MAX_REPLAYED_MESSAGES])
    live: dict[int, list[str]] = {}
    for message_id, name in TriggerFiring.objects.filter(message__in=messages).values_list("message_id", "rule_name"):
        live.setdefault(message_id, []).append(name)
    replayed = []
    for message in messages:
        contexts = triggers_context_build(message=message, ruleset=ruleset, now=message.created_at)
        result = evaluate(ruleset, *contexts, explain=True)
        replayed.append(ReplayedMessage(message=message, result=result, fired_live=tuple(live.get(message.pk, ()))))
    return ConversationTestOutcome(
        conversation=conversation, messages=replayed, rules=rows, errors=dict(ruleset.errors)
    )


def triggers_test_message(
    *,
    text: str,
    attributes: dict | None = None,
    rule: TriggerRule | None = None,
    channel: str = Conversation.Channel.WEB,
    business_hours: str = "now",
    previous_texts: list[str] | None = None,
    bot_confidences: list[float] | None = None,
    score_sentiment: bool = True,
    now: dt.datetime | None = None,
) -> TriggerTestOutcome:
    """Which rules would fire for `text` and why, without storing anything.

    Runs every enabled rule plus `rule` (even when disabled, so a draft can be tried), on an
    imagined conversation: the earlier visitor messages and bot confidences given, the customer's
    attributes, and business hours as they are now (or forced open or closed).
    """
    rows, ruleset = _ruleset_with(rule)

    previous_texts = [t for t in (previous_texts or []) if t.strip()]
    texts = [text, *previous_texts]
    vectors = message_vectors(texts)
    sentiments = score_texts(texts, vectors=vectors) if score_sentiment else [None] * len(texts)
    if business_hours != "now":
        business_open, by_team = business_hours == "open", {}
    elif ruleset.needs_business_hours:
        business_open, by_team = teams_open(at=now or timezone.now())
    else:
        business_open, by_team = None, {}
    message = MessageContext(text=text, sentiment=sentiments[0].score if sentiments[0] else None, vector=vectors[0])
    conversation = ConversationContext(
        channel=channel,
        visitor_message_count=len(texts),
        message_count=len(texts) + len(bot_confidences or []),
        previous_visitor_sentiments=tuple(s.score for s in sentiments[1:] if s is not None),
        bot_confidences=tuple(bot_confidences or ()),
        bot_texts=(),
        previous_visitor_texts=tuple(previous_texts),
        previous_visitor_vectors=vectors[1:] if previous_texts else None,
        business_hours_open=business_open,
        teams_open=by_team,
    )
    result = evaluate(ruleset, message, conversation, CustomerContext(attributes=attributes or {}), explain=True)
    return TriggerTestOutcome(
        result=result,
        sentiment=sentiments[0],
        rules=rows,
        errors=dict(ruleset.errors),
        frustration=detectors.detect_frustration(text, message.normalized),
        person_request=detectors.detect_person_request(message.normalized).evidence,
    )
