"""The admin's "test the rules" panel: which rules would fire for a message, and why. Stores nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from chat.models import Conversation
from triggers import detectors
from triggers.engine import ConversationContext, CustomerContext, EngineResult, MessageContext, compile_rules, evaluate
from triggers.models import TriggerRule
from triggers.rule_cache import rule_spec, ruleset_embedded
from triggers.selectors import message_vectors, rules_enabled, teams_open
from triggers.sentiment import score_texts


@dataclass(frozen=True)
class TriggerTestOutcome:
    result: EngineResult
    sentiment: Any  # triggers.sentiment.SentimentResult or None
    rules: dict[int, TriggerRule]
    errors: dict[int, str]
    frustration: dict[str, str]
    person_request: str


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
    rows = {row.pk: row for row in rules_enabled()}
    if rule is not None and rule.pk:
        rows[rule.pk] = rule
    specs = [dataclasses.replace(rule_spec(row), enabled=True) for row in rows.values()]
    ruleset = ruleset_embedded(specs, plain=compile_rules(specs, embed=None))

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
