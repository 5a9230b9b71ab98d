"""Trigger rules at work: build the engine's inputs from the database, run it, log and act.

The chat pipeline calls, for each visitor message (inline, before the bot answers):

    decision = triggers_evaluate_message(message=message, phase="message")
    triggers_decision_apply(decision=decision)    # hand off, tell the visitor, alert a team

and, after the message is stored, `sentiment_score_enqueue(message=message)`; the worker scores the
message and runs the sentiment phase itself (triggers.tasks). Both phases log every rule that
fires (TriggerFiring) and add the rules' tags; the decision says what else to do, so the caller
decides when (after its own transaction) and the engine stays free of side effects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from chat.models import Conversation, Message
from triggers.engine import (
    ConversationContext,
    CustomerContext,
    EngineResult,
    MessageContext,
    Phase,
    RuleSet,
    RuleSpec,
    compile_rules,
    evaluate,
)
from triggers.models import RuleSetVersion, TriggerFiring, TriggerRule

if TYPE_CHECKING:
    from agents.models import Team

logger = logging.getLogger(__name__)

# How much of the conversation the engine sees: enough for "the last 3 messages", rephrasing and
# "the bot repeated itself", without reading long conversations on every message.
HISTORY_WINDOW = 20
RUNNING_SENTIMENT_WEIGHT = 0.5  # each new message moves the running score halfway to it
RUNNING_SENTIMENT_WINDOW = 10
NEGATIVE_FEEDBACK_VALUES = ("negative", "down", "unhelpful")


# --- Rule cache -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRules:
    token: Any
    ruleset: RuleSet
    rules: dict[int, TriggerRule]  # the model rows, for actions (team, tags, messages)


_cache_lock = threading.Lock()
_cache: dict[str, CompiledRules] = {}


def rules_version_bump() -> None:
    """Mark every process's compiled rules stale (called whenever a rule changes)."""
    import uuid

    if not RuleSetVersion.objects.filter(pk=1).update(token=uuid.uuid4(), changed_at=timezone.now()):
        try:
            with transaction.atomic():
                RuleSetVersion.objects.create(pk=1)
        except IntegrityError:  # another process created it first: its token is just as new
            pass


def _current_token() -> Any:
    token = RuleSetVersion.objects.filter(pk=1).values_list("token", flat=True).first()
    if token is None:
        rules_version_bump()
        token = RuleSetVersion.objects.filter(pk=1).values_list("token", flat=True).first()
    return token


def _knowledge_fingerprint(categories: frozenset[str]) -> tuple:
    """Changes when articles that feed intent categories might have changed."""
    if not categories:
        return ()
    from knowledge.models import Article

    found = Article.objects.aggregate(
        n=Count("id", distinct=True),
        latest=Max("updated_at"),
        questions=Count("example_questions", distinct=True),
        last_question=Max("example_questions__id"),
    )
    return tuple(found.values())


def _knowledge_examples(categories: frozenset[str]) -> dict[str, list[str]]:
    """Titles and example questions of published articles tagged with each category."""
    if not categories:
        return {}
    from knowledge.models import Article

    examples: dict[str, list[str]] = {category: [] for category in categories}
    articles = Article.objects.filter(published=True).prefetch_related("example_questions")
    for article in articles:
        tags = {str(tag).strip().casefold() for tag in article.tags or []}
        for category in categories & tags:
            examples[category].append(article.title)
            examples[category].extend(question.text for question in article.example_questions.all())
    return examples


def _embed(texts: list[str]):
    """Embeddings with a per-process memo: recompiling after one edit re-embeds only new phrases."""
    import numpy as np

    from nlp.embeddings import DIMENSIONS, embed

    missing = [text for text in dict.fromkeys(texts) if text not in _phrase_vectors]
    fresh = dict(zip(missing, embed(missing), strict=True)) if missing else {}
    if len(_phrase_vectors) + len(fresh) <= 10_000:
        _phrase_vectors.update(fresh)
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([fresh[text] if text in fresh else _phrase_vectors[text] for text in texts])


_phrase_vectors: dict[str, Any] = {}


def rules_compiled(*, use_embeddings: bool = True) -> CompiledRules:
    """The enabled rules, compiled, from this process's cache while the version token is unchanged.

    One small query per call (the token, plus a knowledge-base fingerprint when rules read
    articles); recompiling happens only after a change, in whichever process sees it first.
    """
    key = "embed" if use_embeddings else "plain"
    token = _current_token()
    cached = _cache.get(key)
    if (
        cached is not None
        and cached.token[0] == token
        and cached.token[1] == _knowledge_fingerprint(cached.ruleset.knowledge_categories)
    ):
        return cached
    with _cache_lock:
        rows = list(TriggerRule.objects.filter(enabled=True).select_related("team", "notify_team"))
        specs = [_spec(row) for row in rows]
        ruleset = compile_rules(specs, embed=None)  # first pass: which KB categories the rules read
        fingerprint = _knowledge_fingerprint(ruleset.knowledge_categories)
        if use_embeddings:
            extra = _knowledge_examples(ruleset.knowledge_categories)
            ruleset = compile_rules(specs, embed=_embed, extra_examples=extra)
        for rule_id, error in ruleset.errors.items():
            logger.warning("Trigger rule %s is skipped: %s", rule_id, error)
        compiled = CompiledRules((token, fingerprint), ruleset, {row.pk: row for row in rows})
        _cache[key] = compiled
        return compiled


def _spec(rule: TriggerRule) -> RuleSpec:
    return RuleSpec(
        id=rule.pk,
        name=rule.name,
        conditions=rule.conditions,
        match=rule.match,
        order=rule.order,
        handoff=rule.handoff,
        enabled=rule.enabled,
    )


# --- Rules as managers edit them -----------------------------------------------------------------------


def trigger_rule_save(*, rule: TriggerRule) -> TriggerRule:
    """Validate and save a rule; every process picks it up on its next message."""
    rule.full_clean()
    rule.save()  # triggers.signals bumps the rules' version
    return rule


def triggers_defaults_install(*, replace: bool = False) -> list[TriggerRule]:
    """Install the shipped default rules that are missing (matched by name), with their teams by slug."""
    from agents.models import Team
    from triggers.defaults import DEFAULT_RULES

    installed = []
    with transaction.atomic():
        for spec in DEFAULT_RULES:
            existing = TriggerRule.objects.filter(name=spec["name"]).first()
            if existing is not None and not replace:
                continue
            rule = existing or TriggerRule(name=spec["name"])
            for key in ("order", "match", "conditions", "handoff", "priority", "reason_label", "visitor_message"):
                if key in spec:
                    setattr(rule, key, spec[key])
            rule.tags = list(spec.get("tags", []))
            rule.team = Team.objects.filter(slug=spec["team"]).first() if spec.get("team") else None
            rule.save()
            installed.append(rule)
    return installed


# --- The engine's inputs --------------------------------------------------------------------------------


def triggers_context_build(
    *,
    message: Message,
    ruleset: RuleSet | None = None,
    vector: Any = None,
    now: dt.datetime | None = None,
) -> tuple[MessageContext, ConversationContext, CustomerContext]:
    """Read what the rules may look at: the message, the recent conversation, the customer.

    Queries: the conversation with its customer, the counts, the recent messages; the teams'
    hours only when a rule reads business hours. The embedding model runs only when a rule needs
    vectors (one batch: this message, plus the visitor's recent ones for "rephrasing").
    """
    now = now or timezone.now()
    conversation = Conversation.objects.select_related("customer").get(pk=message.conversation_id)
    counts = Message.objects.filter(conversation_id=conversation.pk, seq__lte=message.seq).aggregate(
        total=Count("id"),
        visitor=Count("id", filter=Q(sender=Message.Sender.VISITOR)),
        negative_feedback=Count(
            "id", filter=Q(sender=Message.Sender.BOT, metadata__feedback__in=NEGATIVE_FEEDBACK_VALUES)
        ),
    )
    history = list(
        Message.objects.filter(conversation_id=conversation.pk, seq__lt=message.seq)
        .order_by("-seq")
        .values("sender", "text", "sentiment", "metadata", "created_at")[:HISTORY_WINDOW]
    )[::-1]
    visitor_before = [m for m in history if m["sender"] == Message.Sender.VISITOR]
    bot_messages = [m for m in history if m["sender"] == Message.Sender.BOT]

    # The visitor has been waiting since their oldest message that nobody has answered yet.
    waiting_since = message.created_at
    for earlier in reversed(history):
        if earlier["sender"] != Message.Sender.VISITOR:
            break
        waiting_since = earlier["created_at"]

    business_open, teams_open = None, {}
    if ruleset is not None and ruleset.needs_business_hours:
        business_open, teams_open = _business_hours(now)

    previous_texts = tuple(m["text"] for m in visitor_before[-5:])
    previous_vectors = None
    if ruleset is not None and ruleset.needs_message_vector and vector is None:
        wanted = [message.text, *(previous_texts if ruleset.needs_previous_vectors else ())]
        vectors = _embed_texts(wanted)
        vector = vectors[0]
        if ruleset.needs_previous_vectors:
            previous_vectors = vectors[1:]
    elif ruleset is not None and ruleset.needs_previous_vectors and previous_texts:
        previous_vectors = _embed_texts(list(previous_texts))

    metadata = message.metadata or {}
    message_context = MessageContext(
        text=message.text,
        sentiment=message.sentiment,
        is_explicit_button=bool(metadata.get("handoff_button")),
        vector=vector,
    )
    conversation_context = ConversationContext(
        status=conversation.status,
        channel=conversation.channel,
        visitor_message_count=counts["visitor"],
        message_count=counts["total"],
        previous_visitor_sentiments=tuple(m["sentiment"] for m in visitor_before if m["sentiment"] is not None),
        sentiment=conversation.sentiment,
        bot_confidences=tuple(_confidence(m["metadata"]) for m in bot_messages),
        bot_texts=tuple(m["text"] for m in bot_messages),
        previous_visitor_texts=previous_texts,
        previous_visitor_vectors=previous_vectors,
        negative_feedback_count=counts["negative_feedback"],
        waiting_seconds=max(0.0, (now - waiting_since).total_seconds()),
        age_seconds=max(0.0, (now - conversation.created_at).total_seconds()),
        business_hours_open=business_open,
        teams_open=teams_open,
        tags=tuple(conversation.tags or ()),
    )
    return message_context, conversation_context, CustomerContext(attributes=conversation.customer.attributes or {})


def _embed_texts(texts: list[str]):
    """Embed visitor messages, remembering the recent ones: "rephrasing" compares each message with
    the visitor's previous few, which this process has usually just embedded."""
    import numpy as np

    from nlp.embeddings import embed

    with _recent_lock:
        missing = [text for text in dict.fromkeys(texts) if text not in _recent_vectors]
    fresh = dict(zip(missing, embed(missing), strict=True)) if missing else {}
    with _recent_lock:
        for text, vector in fresh.items():
            _recent_vectors[text] = vector
        while len(_recent_vectors) > RECENT_VECTORS:
            _recent_vectors.popitem(last=False)
        rows = [fresh[text] if text in fresh else _recent_vectors[text] for text in texts]
        for text in texts:
            if text in _recent_vectors:
                _recent_vectors.move_to_end(text)
    return np.stack(rows)


RECENT_VECTORS = 4096
_recent_lock = threading.Lock()
_recent_vectors: OrderedDict[str, Any] = OrderedDict()


def _confidence(metadata: dict | None) -> float | None:
    """The bot's answers carry metadata["confidence"] in 0..1; a declined answer counts as 0."""
    metadata = metadata or {}
    value = metadata.get("confidence")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if metadata.get("declined"):
        return 0.0
    return None


def _business_hours(now: dt.datetime) -> tuple[bool | None, dict[str, bool]]:
    from agents.hours import team_is_open
    from agents.models import Team

    teams = Team.objects.filter(business_hours__isnull=False).distinct().prefetch_related("business_hours", "holidays")
    teams_open = {team.slug: team_is_open(team=team, at=now) for team in teams}
    return (any(teams_open.values()) if teams_open else None), teams_open


# --- Evaluating a message ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerDecision:
    """What the rules decided for one message (the handoff itself is the caller's to perform)."""

    conversation_id: int
    message_id: int | None = None
    phase: str = "message"
    handoff: bool = False
    rule: TriggerRule | None = None
    team: Team | None = None
    priority: int = 0
    reason: str = ""
    # Copied onto the Handoff (handoff_request(trigger=...)): which rule, what it matched.
    trigger: dict = field(default_factory=dict)
    visitor_messages: tuple[str, ...] = ()
    notify_teams: tuple[Team, ...] = ()
    tags_added: tuple[str, ...] = ()
    fired_rule_ids: tuple[int, ...] = ()
    result: EngineResult | None = None


def triggers_evaluate_message(
    *,
    message: Message,
    phase: Phase = "message",
    vector: Any = None,
    now: dt.datetime | None = None,
) -> TriggerDecision:
    """Run the rules on a visitor message, log what fired, add tags; return what else to do.

    phase "message": every rule, as the message arrives (sentiment conditions are false until
    it is scored). phase "sentiment": after scoring, the rules that read sentiment and have not
    already fired for this message. `vector` is the message's embedding if the caller has it.
    """
    nothing = TriggerDecision(conversation_id=message.conversation_id, message_id=message.pk, phase=phase)
    if message.sender != Message.Sender.VISITOR:
        return nothing
    compiled = rules_compiled()
    ruleset = compiled.ruleset
    if not ruleset.rules:
        return nothing
    already = set(TriggerFiring.objects.filter(message=message, rule__isnull=False).values_list("rule_id", flat=True))
    contexts = triggers_context_build(message=message, ruleset=ruleset, vector=vector, now=now)
    result = evaluate(ruleset, *contexts, phase=phase, skip_rule_ids=already)
    if not result.matches:
        return dataclasses.replace(nothing, result=result)
    return _record(message=message, phase=phase, result=result, compiled=compiled, status=contexts[1].status)


def _record(
    *, message: Message, phase: str, result: EngineResult, compiled: CompiledRules, status: str
) -> TriggerDecision:
    rules = compiled.rules
    # Only a conversation still with the bot can be handed off; the rule is logged either way.
    winner = result.handoff if status == Conversation.Status.BOT else None
    with transaction.atomic():
        firings = [
            TriggerFiring(
                rule_id=match.rule_id,
                rule_name=match.rule_name,
                conversation_id=message.conversation_id,
                message=message,
                phase=phase,
                matched=match.details,
                actions=_actions(rules[match.rule_id]),
                decided_handoff=winner is not None and match.rule_id == winner.rule_id,
            )
            for match in result.matches
        ]
        # The unique (rule, message) constraint drops a firing a concurrent run already stored.
        TriggerFiring.objects.bulk_create(firings, ignore_conflicts=True)
        tags = [tag for match in result.matches for tag in rules[match.rule_id].tags]
        added = conversation_tags_add(conversation_id=message.conversation_id, tags=tags) if tags else ()

    matched_rules = [rules[match.rule_id] for match in result.matches]
    # Automatic messages stop once a person is talking with the visitor.
    may_message = status in (Conversation.Status.BOT, Conversation.Status.QUEUED)
    decision: dict[str, Any] = {
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "phase": phase,
        "visitor_messages": tuple(
            dict.fromkeys(r.visitor_message.strip() for r in matched_rules if r.visitor_message and may_message)
        ),
        "notify_teams": tuple({r.notify_team_id: r.notify_team for r in matched_rules if r.notify_team_id}.values()),
        "tags_added": tuple(added),
        "fired_rule_ids": tuple(match.rule_id for match in result.matches),
        "result": result,
    }
    if winner is not None:
        rule = rules[winner.rule_id]
        decision.update(
            handoff=True,
            rule=rule,
            team=rule.team,
            priority=rule.priority,
            reason=rule.reason_label or rule.name,
            trigger={
                "rule_id": rule.pk,
                "rule_name": rule.name,
                "phase": phase,
                "message_id": message.pk,
                "matched": winner.details,
            },
        )
    return TriggerDecision(**decision)


def _actions(rule: TriggerRule) -> dict:
    return {
        "handoff": rule.handoff,
        "team": rule.team.slug if rule.team else None,
        "priority": rule.priority,
        "reason_label": rule.reason_label,
        "tags": list(rule.tags),
        "notify_team": rule.notify_team.slug if rule.notify_team else None,
        "visitor_message": bool(rule.visitor_message),
    }


def conversation_tags_add(*, conversation_id: int, tags: list[str]) -> tuple[str, ...]:
    """Add tags the conversation does not have yet; returns the ones added."""
    with transaction.atomic():
        # Locked so two phases tagging at once cannot drop each other's tags.
        conversation = Conversation.objects.select_for_update().only("tags").get(pk=conversation_id)
        current = list(conversation.tags or [])
        added = tuple(dict.fromkeys(tag for tag in tags if tag not in current))
        if added:
            conversation.tags = current + list(added)
            conversation.save(update_fields=["tags", "updated_at"])
    return added


def triggers_decision_apply(*, decision: TriggerDecision) -> None:
    """Carry out a decision: message the visitor, alert teams, and hand off (in that order, so the
    visitor reads the rule's message before the queue position the handoff sends)."""
    if not (decision.handoff or decision.visitor_messages or decision.notify_teams):
        return
    conversation = Conversation.objects.get(pk=decision.conversation_id)
    from chat.services import message_create

    for text in decision.visitor_messages:
        message_create(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            text=text,
            metadata={"kind": "trigger", "rule_ids": list(decision.fired_rule_ids)},
        )
    if decision.notify_teams:
        from chat.realtime import send_to_group

        for team in decision.notify_teams:
            # "inbox_changed" is what the inbox already listens to; trigger_alert says why.
            send_to_group(
                f"team_{team.pk}",
                {
                    "type": "inbox_changed",
                    "conversation_id": conversation.pk,
                    "status": conversation.status,
                    "trigger_alert": decision.reason or ", ".join(str(i) for i in decision.fired_rule_ids),
                },
            )
    if decision.handoff and conversation.status == Conversation.Status.BOT:
        from handoff.services import handoff_request

        handoff_request(
            conversation=conversation,
            reason=decision.reason,
            source="trigger",
            rule=decision.rule,
            trigger=decision.trigger,
            team=decision.team,
            priority=decision.priority,
        )


# --- Sentiment ---------------------------------------------------------------------------------------------


def sentiment_score_enqueue(*, message: Message) -> None:
    """Score a visitor message in the worker once the transaction that stored it commits.

    If the broker is unreachable the message is still stored; the sweep (score_unscored_messages)
    scores it when the worker is back, so a failed enqueue is logged, not raised.
    """
    if message.sender != Message.Sender.VISITOR:
        return
    message_id = message.pk

    def enqueue() -> None:
        from triggers.tasks import score_message_sentiment

        score_message_sentiment.delay(message_id)

    transaction.on_commit(enqueue, robust=True)


def message_sentiment_store(*, message_id: int, score: float) -> Message:
    """Store a message's score and recompute its conversation's running sentiment.

    The running score is recomputed from the stored scores (oldest first, each moving it
    RUNNING_SENTIMENT_WEIGHT of the way), so messages scored late or twice give the same result.
    """
    with transaction.atomic():
        message = Message.objects.select_related("conversation").get(pk=message_id)
        # Locks the conversation: two messages of it scored at once update it one after the other.
        conversation = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        Message.objects.filter(pk=message_id).update(sentiment=score)
        message.sentiment = score
        recent = list(
            Message.objects.filter(conversation=conversation, sender=Message.Sender.VISITOR, sentiment__isnull=False)
            .order_by("-seq")
            .values_list("sentiment", flat=True)[:RUNNING_SENTIMENT_WINDOW]
        )[::-1]
        running = None
        for value in recent:
            running = value if running is None else running + RUNNING_SENTIMENT_WEIGHT * (value - running)
        conversation.sentiment = None if running is None else round(running, 4)
        conversation.save(update_fields=["sentiment", "updated_at"])
        message.conversation = conversation
    return message


def message_sentiment_score(*, message_id: int) -> TriggerDecision | None:
    """Score a visitor message (unless already scored), then run the sentiment-phase rules and act.

    Idempotent: a retried or swept run finds the score stored and the firings logged, and a
    handoff is only requested while the conversation is still with the bot.
    """
    message = Message.objects.filter(pk=message_id, sender=Message.Sender.VISITOR).first()
    if message is None:
        return None
    if message.sentiment is None:
        from triggers.sentiment import score_text

        message = message_sentiment_store(message_id=message_id, score=score_text(message.text).score)
    decision = triggers_evaluate_message(message=message, phase="sentiment")
    triggers_decision_apply(decision=decision)
    return decision


# --- The admin's "test this rule" panel -------------------------------------------------------------------


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
    from triggers import detectors
    from triggers.sentiment import score_texts

    rows = {row.pk: row for row in TriggerRule.objects.filter(enabled=True).select_related("team", "notify_team")}
    if rule is not None and rule.pk:
        rows[rule.pk] = rule
    specs = [dataclasses.replace(_spec(row), enabled=True) for row in rows.values()]
    plain = compile_rules(specs, embed=None)
    ruleset = compile_rules(specs, embed=_embed, extra_examples=_knowledge_examples(plain.knowledge_categories))

    previous_texts = [t for t in (previous_texts or []) if t.strip()]
    texts = [text, *previous_texts]
    vectors = _embed_texts(texts)
    sentiments = score_texts(texts, vectors=vectors) if score_sentiment else [None] * len(texts)
    if business_hours != "now":
        business_open, teams_open = business_hours == "open", {}
    elif ruleset.needs_business_hours:
        business_open, teams_open = _business_hours(now or timezone.now())
    else:
        business_open, teams_open = None, {}
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
        teams_open=teams_open,
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
