"""Trigger rules at work: run them on a visitor message, log what fired, and act on it.

The visitor pipeline calls, for each visitor message (inline, before the bot answers):

    decision = triggers_evaluate_message(message=message, phase="message")
    triggers_decision_apply(decision=decision)    # hand off, tell the visitor, alert a team

and, after the message is stored, `sentiment_score_enqueue(message=message)`; the worker scores the
message and runs the sentiment phase itself (triggers.tasks). Both phases log every rule that
fires (TriggerFiring) and add the rules' tags; the decision says what else to do, so the caller
decides when (after its own transaction) and the engine stays free of side effects. The rules
come from triggers.rule_cache, what they look at from triggers.selectors.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction

from agents.models import Team
from chat import realtime
from chat.models import Conversation, Message
from chat.services import message_create
from handoff.services import handoff_request
from triggers.defaults import DEFAULT_RULES
from triggers.engine import EngineResult, Phase, evaluate
from triggers.models import TriggerFiring, TriggerRule
from triggers.rule_cache import CompiledRules, rules_compiled
from triggers.selectors import triggers_inputs_read
from triggers.sentiment import message_sentiment
from triggers.tasks import score_message_sentiment as score_message_sentiment_task

if TYPE_CHECKING:
    import datetime as dt

logger = logging.getLogger(__name__)

RUNNING_SENTIMENT_WEIGHT = 0.5  # each new message moves the running score halfway to it
RUNNING_SENTIMENT_WINDOW = 10


# --- Rules as managers edit them -----------------------------------------------------------------------


def trigger_rule_save(*, rule: TriggerRule) -> TriggerRule:
    """Validate and save a rule; every process picks it up on its next message."""
    rule.full_clean()
    rule.save()  # triggers.signals bumps the rules' version
    return rule


def triggers_defaults_install(*, replace: bool = False) -> list[TriggerRule]:
    """Install the shipped default rules that are missing (matched by name), with their teams by slug."""
    installed = []
    with transaction.atomic():
        for spec in DEFAULT_RULES:
            existing = TriggerRule.objects.filter(name=spec["name"]).first()
            if existing is not None and not replace:
                continue
            rule = existing or TriggerRule(name=spec["name"])
            keys = ("order", "match", "conditions", "handoff", "when_answerable", "priority", "reason_label")
            for key in (*keys, "visitor_message"):
                if key in spec:
                    setattr(rule, key, spec[key])
            rule.tags = list(spec.get("tags", []))
            rule.team = Team.objects.filter(slug=spec["team"]).first() if spec.get("team") else None
            rule.save()
            installed.append(rule)
    return installed


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
    # The rule's choice when the bot can answer the message (TriggerRule.WhenAnswerable).
    when_answerable: str = TriggerRule.WhenAnswerable.HANDOFF
    # Copied onto the Handoff (handoff_request(trigger=...)): which rule, what it matched.
    trigger: dict = field(default_factory=dict)
    visitor_messages: tuple[str, ...] = ()
    notify_teams: tuple[Team, ...] = ()
    tags_added: tuple[str, ...] = ()
    fired_rule_ids: tuple[int, ...] = ()
    result: EngineResult | None = None
    # The messages before this one that the rules read (triggers.selectors.TriggerInputs.recent), oldest
    # first; None when the rules read none.
    recent: tuple[dict, ...] | None = None


def triggers_evaluate_message(
    *,
    message: Message,
    phase: Phase = "message",
    vector: Any = None,
    now: dt.datetime | None = None,
    conversation: Conversation | None = None,
) -> TriggerDecision:
    """Run the rules on a visitor message, log what fired, add tags; return what else to do.

    phase "message": every rule, as the message arrives (sentiment conditions are false until
    it is scored). phase "sentiment": after scoring, the rules that read sentiment and have not
    already fired for this message. `vector` is the message's embedding and `conversation` its
    conversation with the customer, read just now, if the caller has them.
    """
    nothing = TriggerDecision(conversation_id=message.conversation_id, message_id=message.pk, phase=phase)
    if message.sender != Message.Sender.VISITOR:
        return nothing
    compiled = rules_compiled()
    ruleset = compiled.ruleset
    if not (ruleset.sentiment_rules if phase == "sentiment" else ruleset.rules):
        return nothing
    inputs = triggers_inputs_read(message=message, ruleset=ruleset, vector=vector, now=now, conversation=conversation)
    result = evaluate(ruleset, *inputs.contexts, phase=phase, skip_rule_ids=inputs.fired_rule_ids)
    if not result.matches:
        return dataclasses.replace(nothing, result=result, recent=inputs.recent)
    decision = _record(message=message, phase=phase, result=result, compiled=compiled, status=inputs.contexts[1].status)
    return dataclasses.replace(decision, recent=inputs.recent)


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
            when_answerable=rule.when_answerable,
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


def trigger_handoff_withheld(*, decision: TriggerDecision) -> None:
    """The winning rule's handoff did not happen: the bot answered the question and offered a
    person instead (TriggerRule.WhenAnswerable.ANSWER_AND_OFFER). The firing log says so."""
    TriggerFiring.objects.filter(message_id=decision.message_id, rule=decision.rule, phase=decision.phase).update(
        decided_handoff=False
    )


def triggers_decision_apply(*, decision: TriggerDecision) -> None:
    """Carry out a decision: message the visitor, alert teams, and hand off (in that order, so the
    visitor reads the rule's message before the queue position the handoff sends)."""
    if not (decision.handoff or decision.visitor_messages or decision.notify_teams):
        return
    conversation = Conversation.objects.get(pk=decision.conversation_id)
    for text in decision.visitor_messages:
        message_create(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            text=text,
            metadata={"kind": "trigger", "rule_ids": list(decision.fired_rule_ids)},
        )
    for team in decision.notify_teams:
        reason = decision.reason or ", ".join(str(i) for i in decision.fired_rule_ids)
        realtime.send_to_group(
            realtime.team_group(team.pk), realtime.inbox_changed_event(conversation=conversation, trigger_alert=reason)
        )
    if decision.handoff and conversation.status == Conversation.Status.BOT:
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
    """Score a visitor message in the worker once the transaction that stored it commits: with the
    score computed here (see `_sentiment_here`), the worker stores it and runs the sentiment rules.

    If the broker is unreachable the message is still stored; the sweep (score_unscored_messages)
    scores it when the worker is back, so a failed enqueue is logged, not raised.
    """
    if message.sender != Message.Sender.VISITOR:
        return
    message_id = message.pk
    score = _sentiment_here(message)
    transaction.on_commit(lambda: score_message_sentiment_task.delay(message_id, score), robust=True)


def _sentiment_here(message: Message) -> float | None:
    """The message's score, computed in this process: the pipeline embeds the message for the rules
    and retrieval anyway (nlp.embeddings keeps the vector), and the score is a small product on it,
    while a worker scoring it from its id would run the embedding model again. None if that fails:
    the worker then scores it itself."""
    try:
        return message_sentiment(message.text).score
    except Exception:
        logger.exception("Could not score message %s here; the worker will", message.pk)
        return None


def message_sentiment_store(*, message_id: int, score: float, message: Message | None = None) -> Message:
    """Store a message's score and recompute its conversation's running sentiment; returns the message
    with its (locked, updated) conversation and customer. `message`: its row, if the caller just read it.

    The running score is recomputed from the stored scores (oldest first, each moving it
    RUNNING_SENTIMENT_WEIGHT of the way), so messages scored late or twice give the same result.
    """
    if message is None:
        message = Message.objects.get(pk=message_id)
    with transaction.atomic():
        # Locks the conversation: two messages of it scored at once update it one after the other. Its
        # customer with it, for the sentiment-phase rules that follow (CustomerContext).
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=message.conversation_id)
        )
        recent = _score_and_recent_scores(message_id=message_id, conversation_id=conversation.pk, score=score)
        message.sentiment = score
        running = None
        for value in recent:
            running = value if running is None else running + RUNNING_SENTIMENT_WEIGHT * (value - running)
        conversation.sentiment = None if running is None else round(running, 4)
        conversation.save(update_fields=["sentiment", "updated_at"])
        message.conversation = conversation
    return message


# Stores the score and reads the conversation's last scored visitor messages (this one included, newest
# first) in one statement: the UPDATE's own row comes from RETURNING, since the rest of the statement
# sees the table as it was before it.
_SCORE_SQL = """
WITH scored AS (
    UPDATE chat_message SET sentiment = %(score)s WHERE id = %(message)s RETURNING seq, sender
)
SELECT sentiment FROM (
    SELECT seq, sentiment FROM chat_message
    WHERE conversation_id = %(conversation)s AND sender = %(visitor)s AND sentiment IS NOT NULL AND id <> %(message)s
    UNION ALL
    SELECT seq, %(score)s::double precision FROM scored WHERE sender = %(visitor)s
) AS scores
ORDER BY seq DESC LIMIT %(window)s
"""


def _score_and_recent_scores(*, message_id: int, conversation_id: int, score: float) -> list[float]:
    """Store the message's score; the conversation's last RUNNING_SENTIMENT_WINDOW scores, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            _SCORE_SQL,
            {
                "score": score,
                "message": message_id,
                "conversation": conversation_id,
                "visitor": Message.Sender.VISITOR,
                "window": RUNNING_SENTIMENT_WINDOW,
            },
        )
        return [value for (value,) in reversed(cursor.fetchall())]


def message_sentiment_score(*, message_id: int, score: float | None = None) -> TriggerDecision | None:
    """Score a visitor message (unless already scored; `score`: computed already, by the pipeline that
    enqueued this), then run the sentiment-phase rules and act.

    Idempotent: a retried or swept run finds the score stored and the firings logged, and a
    handoff is only requested while the conversation is still with the bot.
    """
    message = Message.objects.filter(pk=message_id, sender=Message.Sender.VISITOR).first()
    if message is None:
        return None
    conversation = None
    if message.sentiment is None:
        if score is None:
            score = message_sentiment(message.text).score
        message = message_sentiment_store(message_id=message_id, score=score, message=message)
        conversation = message.conversation  # read under the lock just now, with its customer
    decision = triggers_evaluate_message(message=message, phase="sentiment", conversation=conversation)
    triggers_decision_apply(decision=decision)
    return decision
