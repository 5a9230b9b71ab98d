"""What a rule would have done: stored conversations replayed through it, message by message.

Each visitor message is evaluated as it arrived: the history the engine sees (earlier messages,
the bot's confidences and repeats, thumbs, sentiment) is read as it was then, by the same
`triggers_context_build` the live pipeline uses, with the clock at the message's time (the
conversation's tags, status and the customer's attributes are today's). A
conversation stops being replayed at the first message the rule would hand off on, or where a
person actually took over (a rule cannot hand off a conversation that is already with one).

Bounded: at most REPLAY_MAX_CONVERSATIONS (most recent first) and REPLAY_SECONDS of work; the
result says when it stopped early. Stores nothing.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat.models import Conversation, Message
from handoff.models import Handoff
from triggers.engine import RuleSet, compile_rules, evaluate
from triggers.models import TriggerRule
from triggers.rule_cache import rule_spec, ruleset_embedded
from triggers.selectors import triggers_context_build
from triggers.tasks import replay_rule as replay_rule_task

REPLAY_DAYS = 30
REPLAY_MAX_CONVERSATIONS = 2000
REPLAY_SECONDS = 20.0
DRAFT_ID = 0  # an unsaved rule's id inside the replay
NEEDED = (Handoff.Verdict.NEEDED, Handoff.Verdict.TOO_LATE)


@dataclass(frozen=True)
class ReplayHit:
    conversation_id: int
    message_id: int
    seq: int
    text: str
    handed_off: bool  # what actually happened: a person was asked for in this conversation
    verdict: str  # the agents' label on that handoff, if any
    earlier: bool  # the rule would have handed off before the real handoff


@dataclass
class ReplayResult:
    days: int
    conversations_total: int = 0
    conversations_checked: int = 0
    messages_checked: int = 0
    hits: list[ReplayHit] = field(default_factory=list)
    actually_handed_off: int = 0  # of the checked conversations
    missed: list[int] = field(default_factory=list)  # handed off and labelled needed, the rule silent
    stopped_early: str = ""
    seconds: float = 0.0

    @property
    def would_hand_off(self) -> int:
        return len(self.hits)

    @property
    def overlap(self) -> int:
        return sum(hit.handed_off for hit in self.hits)

    @property
    def new_handoffs(self) -> int:
        return self.would_hand_off - self.overlap

    @property
    def labelled_needed(self) -> int:
        return sum(hit.verdict in NEEDED for hit in self.hits)

    @property
    def labelled_bot_could_answer(self) -> int:
        return sum(hit.verdict == Handoff.Verdict.BOT_COULD_ANSWER for hit in self.hits)

    @property
    def earlier(self) -> int:
        return sum(hit.earlier for hit in self.hits)


def draft_ruleset(rule: TriggerRule) -> RuleSet:
    """The rule alone, enabled, compiled as the live cache would (with its example phrases)."""
    spec = dataclasses.replace(rule_spec(rule), enabled=True, id=rule.pk or DRAFT_ID)
    return ruleset_embedded([spec], plain=compile_rules([spec], embed=None))


def conversations_to_replay(*, days: int = REPLAY_DAYS) -> list[int]:
    """Conversations with a visitor message in the last `days`, most recent first."""
    since = timezone.now() - timezone.timedelta(days=days)
    return list(
        Conversation.objects.filter(last_activity_at__gte=since, messages__sender=Message.Sender.VISITOR)
        .distinct()
        .order_by("-last_activity_at")
        .values_list("id", flat=True)[:REPLAY_MAX_CONVERSATIONS]
    )


def rule_replay(
    *,
    rule: TriggerRule,
    days: int = REPLAY_DAYS,
    seconds: float = REPLAY_SECONDS,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Run `rule` (saved or a draft) over the last `days` of conversations; see the module docstring."""
    started = time.monotonic()
    ruleset = draft_ruleset(rule)
    ids = conversations_to_replay(days=days)
    result = ReplayResult(days=days, conversations_total=len(ids))
    since = timezone.now() - timezone.timedelta(days=days)
    for done, conversation_id in enumerate(ids):
        if time.monotonic() - started > seconds:
            result.stopped_early = f"time limit ({seconds:.0f} s) reached after {done} of {len(ids)} conversations"
            break
        _replay_conversation(conversation_id=conversation_id, ruleset=ruleset, since=since, result=result)
        result.conversations_checked += 1
        if progress is not None and done % 25 == 0:
            progress(done, len(ids))
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _replay_conversation(*, conversation_id: int, ruleset: RuleSet, since, result: ReplayResult) -> None:
    handoffs = list(Handoff.objects.filter(conversation_id=conversation_id).order_by("requested_at"))
    # Where a person was first asked for: after it, no rule could have handed off again.
    first_request = handoffs[0].requested_at if handoffs else None
    if handoffs:
        result.actually_handed_off += 1
    verdict = next((h.verdict for h in reversed(handoffs) if h.verdict), "")
    messages = list(
        Message.objects.filter(
            Q(created_at__lt=first_request) if first_request else Q(),
            conversation_id=conversation_id,
            sender=Message.Sender.VISITOR,
            created_at__gte=since,
        ).order_by("seq")
    )
    for message in messages:
        result.messages_checked += 1
        # A stored score stands in for the sentiment phase: one evaluation sees all the rule reads.
        contexts = triggers_context_build(message=message, ruleset=ruleset, now=message.created_at)
        if evaluate(ruleset, *contexts).handoff is not None:
            result.hits.append(
                ReplayHit(
                    conversation_id=conversation_id,
                    message_id=message.pk,
                    seq=message.seq,
                    text=message.text[:200],
                    handed_off=bool(handoffs),
                    verdict=verdict,
                    # The real handoff came on a later message (or the rule would have beaten the visitor's ask).
                    earlier=first_request is not None and message is not messages[-1],
                )
            )
            return
    if handoffs and verdict in NEEDED:
        result.missed.append(conversation_id)


# --- A replay as a job: in a worker when there is one, its progress and result in the cache ----------

JOB_TTL = 3600
RULE_FIELDS = ("name", "match", "conditions", "handoff", "team_id", "priority", "reason_label")


def replay_summary(result: ReplayResult) -> dict:
    """JSON-ready, for the cache and the page."""
    return {
        **{k: v for k, v in dataclasses.asdict(result).items() if k != "hits"},
        "hits": [dataclasses.asdict(hit) for hit in result.hits[:200]],
        "would_hand_off": result.would_hand_off,
        "overlap": result.overlap,
        "new_handoffs": result.new_handoffs,
        "labelled_needed": result.labelled_needed,
        "labelled_bot_could_answer": result.labelled_bot_could_answer,
        "earlier": result.earlier,
        "missed_count": len(result.missed),
        "missed": result.missed[:200],
        "state": "done",
    }


def _job_key(job_id: str) -> str:
    return f"triggers:replay:{job_id}"


def replay_job_read(*, job_id: str) -> dict | None:
    return cache.get(_job_key(job_id))


def replay_job_run(*, job_id: str, rule_data: dict) -> dict:
    """Replay a draft given as its fields, writing progress, then the summary, under the job's key."""
    rule = TriggerRule(**{k: v for k, v in rule_data.items() if k in RULE_FIELDS})

    def progress(done: int, total: int) -> None:
        cache.set(_job_key(job_id), {"state": "running", "done": done, "total": total}, JOB_TTL)

    summary = replay_summary(rule_replay(rule=rule, progress=progress))
    cache.set(_job_key(job_id), summary, JOB_TTL)
    return summary


def replay_job_start(*, rule: TriggerRule) -> str:
    """Queue the replay of a draft for a worker (after commit); returns the job's id."""
    job_id = uuid.uuid4().hex
    cache.set(_job_key(job_id), {"state": "queued", "done": 0, "total": None}, JOB_TTL)
    rule_data = {name: getattr(rule, name) for name in RULE_FIELDS}
    transaction.on_commit(lambda: replay_rule_task.delay(job_id, rule_data))
    return job_id
