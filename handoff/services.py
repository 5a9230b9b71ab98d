"""The handoff lifecycle: request, assign, transfer, return to queue, resolve, hand back, reopen; routing.

Each service locks the conversation row (select_for_update) before reading its state, so two
requests for the same conversation are serialised by PostgreSQL and the second one sees what
the first one did. Every transition goes through `_transition`: it is stored as a HandoffEvent,
the visitor is told in the chat, the widget and the inboxes hear of it, and routing runs; the
broadcasts and routing wait for the transaction to commit (chat.realtime, transaction.on_commit).
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agents.models import Agent, Team
from agents.selectors import team_default, user_is_manager
from chat.models import Conversation, Message
from chat.services import LockedConversation, conversation_locked_row, message_create
from handoff.access import conversation_access_denial, conversation_row_allows
from handoff.availability import TeamQueue, WaitInfo, queue_position_of_newcomer, wait_info, wait_text
from handoff.models import Handoff, HandoffEvent, SatisfactionRating
from handoff.realtime import handoff_broadcast_inbox, handoff_broadcast_queue_positions, handoff_broadcast_state
from handoff.selectors import routing_next
from handoff.signals import conversation_resolved
from handoff.summary import summary_extractive

logger = logging.getLogger(__name__)

Status = Conversation.Status
SENTIMENT_TREND_LENGTH = 5


class HandoffError(Exception):
    """A transition that cannot happen now; the message tells a person why."""


@dataclass(frozen=True)
class _Notice:
    """A system message telling the visitor what just happened."""

    text: str
    metadata: dict
    wait: WaitInfo | None = None  # the wait it states, which the widget's status line shows too


def _lock(conversation: Conversation, *, with_customer: bool = False) -> Conversation:
    """Lock the conversation's row (only its row: `of`) and read it, with its customer if asked."""
    locked = Conversation.objects.select_for_update(of=("self",))
    return (locked.select_related("customer") if with_customer else locked).get(pk=conversation.pk)


def _check_access(*, actor, conversation: Conversation) -> None:
    """The acting person must be allowed to act on the conversation as it is now (handoff/access.py):
    a manager, its agent, or an agent of its team. `actor=None` is the system (routing, presence).
    Call it with the conversation locked and read (`_lock`), so a transfer cannot slip in between check
    and change; the rule is applied to that row (no query), the refusal's wording read only then."""
    if actor is None or conversation_row_allows(user=actor, conversation=conversation):
        return
    denial = conversation_access_denial(user=actor, conversation=conversation)
    raise HandoffError(denial or f"Conversation {conversation.pk} is not with a team of yours.")


def _open_handoff(conversation: Conversation) -> Handoff | None:
    return (
        Handoff.objects.select_for_update().filter(conversation=conversation, status__in=Handoff.OPEN_STATUSES).first()
    )


def _record(
    *,
    conversation: Conversation,
    handoff: Handoff | None,
    action: str,
    to_status: str,
    reason: str,
    note: str = "",
    actor=None,
    agent: Agent | None = None,
    team: Team | None = None,
) -> HandoffEvent:
    """Move the conversation to `to_status`, copy what the inbox lists need from its handoff, and
    store the event row; the conversation's row is written once (with the reports' outcome inputs)."""
    from_status = conversation.status
    conversation.status = to_status
    conversation.last_activity_at = conversation.updated_at = timezone.now()
    _mirror_handoff(conversation, handoff)
    event = HandoffEvent.objects.create(
        conversation=conversation,
        handoff=handoff,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:300],
        note=note,
        actor=actor,
        agent=agent,
        team=team,
    )
    row = {name: getattr(conversation, name) for name in ("status", "last_activity_at", "updated_at")}
    row.update({field.attname: getattr(conversation, field.attname) for field in _MIRRORED})
    row.update(_outcome_inputs(conversation=conversation, event=event))
    Conversation.objects.filter(pk=conversation.pk).update(**row)
    return event


def _outcome_inputs(*, conversation: Conversation, event: HandoffEvent) -> dict:
    """The reports' outcome inputs on the conversation (chat.models.Conversation) and its handoffs,
    written in the transition's own UPDATE of the conversation: computed from the rows themselves
    (the handoff aggregates are the same expressions reports/facts.py rebuilds them with), so they
    cannot drift. The handoff's own row is saved before its transition is recorded."""
    changes = {}
    if event.action == HandoffEvent.Action.RESOLVE and conversation.first_resolved_at is None:
        changes["first_resolved_at"] = conversation.first_resolved_at = event.created_at
    if event.action == HandoffEvent.Action.REOPEN:
        if conversation.first_reopened_at is None:
            changes["first_reopened_at"] = conversation.first_reopened_at = event.created_at
        # The first reopen after a person resolved it: the per-person reopen rate counts from it.
        Handoff.objects.filter(
            conversation=conversation, status=Handoff.Status.RESOLVED, reopened_at__isnull=True
        ).update(reopened_at=event.created_at)
    if event.handoff_id is not None:
        handoffs = Handoff.objects.filter(conversation=OuterRef("pk"))
        resolved = handoffs.filter(status=Handoff.Status.RESOLVED)
        unserved = handoffs.filter(first_assigned_at__isnull=True).exclude(status=Handoff.Status.RESOLVED)
        changes.update(
            handoff_resolved=Exists(resolved),
            handoff_resolved_after_bot=Exists(resolved.filter(bot_answered_before=True)),
            handoff_unserved=Exists(unserved),
            handoff_unserved_email_ask=Exists(unserved.filter(email_asked=True)),
        )
    return changes


MIRRORED_FIELDS = ("team", "assignee", "priority", "waiting_since", "snoozed_at", "snoozed_until")
_MIRRORED = [Conversation._meta.get_field(name) for name in MIRRORED_FIELDS]


def _mirror_handoff(conversation: Conversation, handoff: Handoff | None) -> None:
    """The conversation's inbox fields, from the handoff it has now (the inbox's lists and access
    read them; a test checks them after every transition). Any transition ends a snooze."""
    if handoff is not None:
        conversation.team_id = handoff.team_id
        conversation.priority = handoff.priority
        conversation.assignee_id = handoff.agent_id if handoff.status == Handoff.Status.ASSIGNED else None
    if conversation.status == Status.QUEUED:
        conversation.waiting_since = conversation.waiting_since or timezone.now()
    elif conversation.status != Status.ASSIGNED:
        conversation.waiting_since = None  # with the bot, or resolved: nobody waits for a person
    conversation.snoozed_at = conversation.snoozed_until = None


def _transition(
    *, conversation: Conversation, handoff: Handoff | None, notice: _Notice | None = None, route: bool = False, **change
) -> HandoffEvent:
    """Record the change (`_record`'s arguments), tell the visitor, broadcast the new state, and (with
    `route`) offer the handoff's team queue to free agents once the transaction commits. Call it with
    the conversation locked, inside the service's transaction."""
    event = _record(conversation=conversation, handoff=handoff, **change)
    _announce(conversation=conversation, handoff=handoff, event=event, notice=notice)
    if route:
        routing_request(team=handoff.team)
    return event


def _announce(
    *, conversation: Conversation, handoff: Handoff | None, event: HandoffEvent, notice: _Notice | None = None
) -> None:
    """Tell the visitor in the chat, then their widget, the inboxes, and the others waiting in the queue
    (last: their positions are read from the database once the transaction commits, and the commit
    hooks run in order, so the inboxes are not kept waiting behind those queries)."""
    if notice is not None:
        # The conversation is locked and read by the calling service, and written only through this
        # instance since: no second lock to reserve the notice's seq.
        message_create(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            text=notice.text,
            metadata=notice.metadata,
            locked=conversation_locked_row(conversation=conversation),
        )
    # The status line shows the wait the notice states: estimated once (it takes several queries).
    wait = notice.wait if notice is not None else None
    handoff_broadcast_state(conversation=conversation, handoff=handoff, event=event, wait=wait)
    # From the bot to the queue: it was in nobody's sidebar (the queue and "Mine" are its only lists).
    requested = event.action == HandoffEvent.Action.REQUEST and event.to_status == Status.QUEUED
    handoff_broadcast_inbox(conversation=conversation, handoff=handoff, joined_queue=requested)
    if handoff is not None:
        joined = handoff if event.to_status == Status.QUEUED else None
        handoff_broadcast_queue_positions(team_id=handoff.team_id, after=joined)


def _waiting_notice(*, handoff: Handoff, preface: str = "", info: WaitInfo | None = None) -> _Notice:
    """Queue position and wait, or the team's hours and a request for an email when nobody can answer."""
    info = info or wait_info(handoff=handoff)
    return _Notice(
        text=preface + wait_text(info),
        metadata={"kind": "handoff_queued", "wait": info.as_dict(), "ask_email": info.ask_email},
        wait=info,
    )


def _handoff_facts(*, conversation: Conversation, reason: str, trigger: dict | None = None) -> dict:
    """What a new handoff keeps of the conversation so far, from one read of its transcript: the
    agent's summary, the customer's context with the visitor's sentiment trend, and whether the bot
    answered before. `conversation` comes with its customer."""
    messages = list(conversation.messages.order_by("seq"))
    return {
        "summary": summary_extractive(messages=messages, reason=reason, trigger=trigger),
        "context": _customer_context(conversation, messages),
        "bot_answered_before": any(message.sender == Message.Sender.BOT for message in messages),
    }


def _customer_context(conversation: Conversation, messages: list[Message]) -> dict:
    customer = conversation.customer
    scored = [m.sentiment for m in messages if m.sender == Message.Sender.VISITOR and m.sentiment is not None]
    return {
        "customer": {
            "name": customer.name,
            "email": customer.email,
            "external_id": customer.external_id,
            "attributes": customer.attributes,
        },
        "sentiment": conversation.sentiment,
        "sentiment_trend": scored[-SENTIMENT_TREND_LENGTH:],
        "pages": customer.attributes.get("pages", []),
    }


def handoff_request(
    *,
    conversation: Conversation,
    reason: str,
    source: str = Handoff.Source.VISITOR,
    rule=None,
    trigger: dict | None = None,
    team: Team | None = None,
    priority: int = 0,
    actor=None,
) -> Handoff:
    """Queue the conversation for a person. Asking again while it waits returns the same handoff."""
    # No savepoint inside a caller's transaction (the widget's button, the trigger rules: two round trips
    # per request): nothing here is worth catching and carrying on after, a failure rolls the caller back.
    with transaction.atomic(savepoint=False):
        conversation = _lock(conversation, with_customer=True)
        existing = _open_handoff(conversation)
        if existing is not None:
            return existing
        team = team or team_default()
        trigger = dict(trigger or {})
        if rule is not None:
            trigger.update(rule_id=rule.pk, rule_name=str(rule))
        # The wait is estimated once, before the insert (the newcomer goes behind everyone of its
        # priority or higher), and stored with it: reports compare what the visitor was told with the
        # real wait.
        info = TeamQueue.now(team=team).info(position=queue_position_of_newcomer(team=team, priority=priority))
        handoff = Handoff.objects.create(
            conversation=conversation,
            source=source,
            reason=reason[:200],
            trigger=trigger,
            team=team,
            priority=priority,
            wait_estimate_seconds=info.estimated_wait_seconds,
            wait_low_seconds=info.wait_low_seconds,
            wait_high_seconds=info.wait_high_seconds,
            email_asked=info.ask_email,
            **_handoff_facts(conversation=conversation, reason=reason, trigger=trigger),
        )
        # Routed after commit: a new handoff may be first in line for a free agent.
        _transition(
            conversation=conversation,
            handoff=handoff,
            action=HandoffEvent.Action.REQUEST,
            to_status=Status.QUEUED,
            reason=reason,
            actor=actor,
            team=team,
            notice=_waiting_notice(handoff=handoff, info=info),
            route=True,
        )
    return handoff


def handoff_assign(*, handoff: Handoff, agent: Agent, actor=None, reason: str = "Accepted from the queue") -> Handoff:
    """Give a waiting conversation to an agent. Of two agents accepting at once, exactly one wins."""
    with transaction.atomic():
        conversation = _lock(handoff.conversation)
        handoff = Handoff.objects.select_related("agent").get(pk=handoff.pk)
        if handoff.status == Handoff.Status.ASSIGNED:
            who = "you" if handoff.agent_id == agent.pk else handoff.agent.public_name
            raise HandoffError(f"Conversation {conversation.pk} is already assigned to {who}.")
        if handoff.status != Handoff.Status.QUEUED:
            raise HandoffError(f"Conversation {conversation.pk} is no longer waiting ({handoff.get_status_display()}).")
        _check_access(actor=actor, conversation=conversation)
        if handoff.team_id is not None and not agent.teams.filter(pk=handoff.team_id).exists():
            raise HandoffError(
                f"{agent.public_name} is not on the {handoff.team.name} team that conversation {conversation.pk} "
                "is waiting for; transfer it to them instead."
            )
        now = timezone.now()
        handoff.status = Handoff.Status.ASSIGNED
        handoff.agent = agent
        handoff.assigned_at = now
        handoff.first_assigned_at = handoff.first_assigned_at or now
        handoff.save(update_fields=["status", "agent", "assigned_at", "first_assigned_at"])
        Agent.objects.filter(pk=agent.pk).update(last_assigned_at=now)
        _transition(
            conversation=conversation,
            handoff=handoff,
            action=HandoffEvent.Action.ASSIGN,
            to_status=Status.ASSIGNED,
            reason=reason,
            actor=actor,
            agent=agent,
            team=handoff.team,
            notice=_Notice(
                text=f"{agent.public_name} has joined the conversation.",
                metadata={"kind": "agent_joined", "agent": agent.public_name},
            ),
        )
    return handoff


def handoff_transfer(
    *, handoff: Handoff, to_agent: Agent | None = None, to_team: Team | None = None, note: str = "", actor=None
) -> Handoff:
    """Pass an open conversation to another agent (directly) or another team (back in its queue)."""
    if (to_agent is None) == (to_team is None):
        raise HandoffError("Choose either an agent or a team to transfer to.")
    with transaction.atomic():
        conversation = _lock(handoff.conversation)
        handoff = _open_handoff(conversation)
        if handoff is None:
            raise HandoffError(f"Conversation {conversation.pk} has no open handoff to transfer.")
        _check_access(actor=actor, conversation=conversation)
        if to_agent is not None:
            if handoff.agent_id == to_agent.pk:
                raise HandoffError(f"Conversation {conversation.pk} is already with {to_agent.public_name}.")
            handoff.status, handoff.agent, handoff.assigned_at = Handoff.Status.ASSIGNED, to_agent, timezone.now()
            handoff.first_assigned_at = handoff.first_assigned_at or handoff.assigned_at
            to_status, visitor_text = Status.ASSIGNED, f"{to_agent.public_name} is taking over the conversation."
        else:
            handoff.status, handoff.agent, handoff.team = Handoff.Status.QUEUED, None, to_team
            to_status, visitor_text = Status.QUEUED, f"Transferring you to our {to_team.name} team."
        handoff.save(update_fields=["status", "agent", "team", "assigned_at", "first_assigned_at"])
        _transition(
            conversation=conversation,
            handoff=handoff,
            action=HandoffEvent.Action.TRANSFER,
            to_status=to_status,
            reason="Transferred",
            note=note,
            actor=actor,
            agent=to_agent,
            team=to_team or handoff.team,
            notice=_Notice(text=visitor_text, metadata={"kind": "transfer"}),
            route=to_team is not None,  # the new team's free agents may take it
        )
    return handoff


def handoff_return_to_queue(*, handoff: Handoff, reason: str, actor=None) -> Handoff:
    """Put an assigned conversation back in its team's queue (its agent went offline, say)."""
    with transaction.atomic():
        conversation = _lock(handoff.conversation)
        handoff = _open_handoff(conversation)
        if handoff is None or handoff.status != Handoff.Status.ASSIGNED:
            raise HandoffError(f"Conversation {conversation.pk} is not with an agent.")
        _check_access(actor=actor, conversation=conversation)
        previous_agent = handoff.agent
        handoff.status, handoff.agent, handoff.assigned_at = Handoff.Status.QUEUED, None, None
        handoff.save(update_fields=["status", "agent", "assigned_at"])
        _transition(
            conversation=conversation,
            handoff=handoff,
            action=HandoffEvent.Action.RETURN_TO_QUEUE,
            to_status=Status.QUEUED,
            reason=reason,
            actor=actor,
            agent=previous_agent,
            team=handoff.team,
            notice=_waiting_notice(handoff=handoff, preface="We're finding another person to help you. "),
            route=True,
        )
    return handoff


def handoff_resolve(*, conversation: Conversation, actor=None, reason: str = "Resolved by the agent") -> Handoff | None:
    """Close the conversation and ask the visitor to rate it (the person's help, if one helped).

    Once it commits, `conversation_resolved` announces it (the knowledge base learns from it).
    """
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status == Status.RESOLVED:
            raise HandoffError(f"Conversation {conversation.pk} is already resolved.")
        _check_access(actor=actor, conversation=conversation)
        handoff = _open_handoff(conversation)
        if handoff is not None:
            handoff.status, handoff.ended_at = Handoff.Status.RESOLVED, timezone.now()
            handoff.save(update_fields=["status", "ended_at"])
        helped_by = handoff.agent.public_name if handoff and handoff.agent else None
        _transition(
            conversation=conversation,
            handoff=handoff,
            action=HandoffEvent.Action.RESOLVE,
            to_status=Status.RESOLVED,
            reason=reason,
            actor=actor,
            agent=handoff.agent if handoff else None,
            notice=_Notice(
                text="This conversation has been resolved. How did we do?",
                metadata={
                    "kind": "csat_request",
                    "subject": "human" if helped_by else "bot",
                    "agent": helped_by,
                    "handoff_id": handoff.pk if handoff else None,
                },
            ),
            route=handoff is not None and handoff.agent_id is not None,  # the agent has a free slot again
        )
        conversation_id, handoff_id = conversation.pk, handoff.pk if handoff else None
        # send_robust: a listener failing must not turn an agent's successful "Resolve" into an error.
        transaction.on_commit(
            lambda: conversation_resolved.send_robust(
                sender=Conversation, conversation_id=conversation_id, handoff_id=handoff_id
            )
        )
    return handoff


def conversation_end_by_visitor(*, conversation: Conversation) -> Handoff | None:
    """The visitor's "End chat": resolved as an agent's Resolve would (they are asked to rate the bot,
    or the person who helped), so a conversation the bot finished is measured as one."""
    return handoff_resolve(conversation=conversation, reason="The visitor ended the chat")


IDLE_BATCH = 500


def conversations_resolve_idle(*, now=None) -> list[int]:
    """Resolve bot conversations nobody has written in for HANDOFF_BOT_IDLE_RESOLVE_MINUTES; returns their ids.

    Only conversations with the bot and at least one visitor message (a person's conversations are
    theirs to resolve). Each is re-checked under its row lock: a visitor writing while the sweep runs
    moves last_activity_at, and their conversation stays open.
    """
    minutes = settings.HANDOFF_BOT_IDLE_RESOLVE_MINUTES
    if not minutes:
        return []
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=minutes)
    candidates = list(
        Conversation.objects.filter(
            status=Status.BOT, last_activity_at__lt=cutoff, messages__sender=Message.Sender.VISITOR
        )
        .distinct()
        .order_by("last_activity_at")
        .values_list("id", flat=True)[:IDLE_BATCH]
    )
    resolved = []
    for conversation_id in candidates:
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
            if conversation.status != Status.BOT or conversation.last_activity_at >= cutoff:
                continue
            handoff_resolve(conversation=conversation, reason=f"No activity for {minutes} minutes")
            resolved.append(conversation_id)
    return resolved


def handoff_hand_back(*, conversation: Conversation, actor=None) -> None:
    """Give the conversation back to the bot, which answers the visitor's next message."""
    with transaction.atomic():
        conversation = _lock(conversation)
        handoff = _open_handoff(conversation)
        if handoff is None:
            raise HandoffError(f"Conversation {conversation.pk} is already with the bot.")
        _check_access(actor=actor, conversation=conversation)
        _back_to_bot(
            conversation=conversation,
            handoff=handoff,
            status=Handoff.Status.HANDED_BACK,
            action=HandoffEvent.Action.HAND_BACK,
            reason="Handed back to the bot",
            actor=actor,
            notice=_Notice(
                text="You're back with our assistant. Ask for a person again any time.",
                metadata={"kind": "handed_back"},
            ),
        )


def _back_to_bot(
    *, conversation: Conversation, handoff: Handoff, status: str, action: str, reason: str, notice: _Notice, actor=None
) -> None:
    """End the open handoff with `status` and give the conversation back to the bot (a freed agent's
    slot is offered to the queue)."""
    handoff.status, handoff.ended_at = status, timezone.now()
    handoff.save(update_fields=["status", "ended_at"])
    _transition(
        conversation=conversation,
        handoff=handoff,
        action=action,
        to_status=Status.BOT,
        reason=reason,
        actor=actor,
        agent=handoff.agent,
        team=handoff.team,
        notice=notice,
        route=handoff.agent_id is not None,
    )


def handoff_cancel(*, conversation: Conversation) -> Handoff:
    """The visitor no longer needs a person (only while waiting): the bot has the conversation again,
    the visitors behind them move up, and the cancellation is an event like any other transition."""
    with transaction.atomic():
        conversation = _lock(conversation)
        handoff = _open_handoff(conversation)
        if handoff is None:
            raise HandoffError("You're not waiting for a person.")
        if handoff.status != Handoff.Status.QUEUED:
            raise HandoffError("A person has already joined; tell them here, or end the chat.")
        _back_to_bot(
            conversation=conversation,
            handoff=handoff,
            status=Handoff.Status.CANCELLED,
            action=HandoffEvent.Action.CANCEL,
            reason="The visitor no longer needs a person",
            notice=_Notice(
                text="OK, you're back with our assistant. Ask for a person again any time.",
                metadata={"kind": "handoff_cancelled"},
            ),
        )
    return handoff


def handoff_bot_while_waiting(*, conversation: Conversation) -> Handoff:
    """The visitor keeps chatting with the assistant while they wait: the bot answers their messages
    until a person joins (who reads those answers in the transcript); their place in the queue stays."""
    with transaction.atomic():
        conversation = _lock(conversation)
        handoff = _open_handoff(conversation)
        if handoff is None or handoff.status != Handoff.Status.QUEUED:
            raise HandoffError("You're not waiting for a person.")
        if not handoff.bot_while_waiting:
            handoff.bot_while_waiting = True
            handoff.save(update_fields=["bot_while_waiting"])
            message_create(
                conversation=conversation,
                sender=Message.Sender.SYSTEM,
                text="Ask our assistant anything while you wait; you keep your place in the queue.",
                metadata={"kind": "bot_while_waiting"},
            )
            handoff_broadcast_state(conversation=conversation, handoff=handoff, event=None)
    return handoff


def conversation_reopen(*, conversation: Conversation) -> Handoff | None:
    """A visitor wrote in a resolved conversation: back to the bot, or to the same team (HANDOFF_REOPEN_TO)."""
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status != Status.RESOLVED:
            return None
        last = conversation.handoffs.order_by("-requested_at").first()
        event = _record(
            conversation=conversation,
            handoff=last,
            action=HandoffEvent.Action.REOPEN,
            to_status=Status.BOT,
            reason="The visitor wrote again",
        )
        if settings.HANDOFF_REOPEN_TO == "team" and last is not None:
            # The new request announces where the conversation went.
            return handoff_request(
                conversation=conversation,
                reason="Reopened by the visitor",
                source=Handoff.Source.VISITOR,
                team=last.team,
                priority=last.priority,
            )
        # Announced without a handoff: the resolved one is over, and the bot has the conversation.
        _announce(conversation=conversation, handoff=None, event=event)
    return None


class ReplyClaim(NamedTuple):
    handoff: Handoff
    # The conversation's row as locked for the claim, when the claim wrote nothing (the agent had it
    # already): the reply's seq is reserved from it, under the same lock (chat.services.message_create).
    locked: LockedConversation | None


def handoff_reply_claim(*, conversation: Conversation, agent: Agent | None, actor=None) -> ReplyClaim:
    """Replying requires owning the conversation: a waiting one becomes the replying agent's (as if
    they had accepted it, so it leaves everyone's queue and the first reply is timed); one that
    another agent holds is refused. Call it inside the reply's transaction: the conversation stays
    locked until the reply is stored, so of two agents replying to a waiting visitor at once the
    second finds it taken and is told so, instead of both talking to the visitor."""
    # No savepoint (two round trips per reply): a refusal rolls the caller's reply back with it.
    with transaction.atomic(savepoint=False):
        conversation = _lock(conversation)
        handoff = _open_handoff(conversation)
        if handoff is None:
            state = conversation.get_status_display().lower()
            raise HandoffError(f"Conversation {conversation.pk} is {state}; a person can reply once it is handed off.")
        if agent is None:
            raise HandoffError("Only agents can reply to visitors (managers without an agent profile can watch).")
        _check_access(actor=actor, conversation=conversation)
        if handoff.status == Handoff.Status.QUEUED:
            assigned = handoff_assign(handoff=handoff, agent=agent, actor=actor, reason="Accepted by replying")
            return ReplyClaim(assigned, locked=None)  # the assignment wrote the row (and a notice)
        if handoff.agent_id != agent.pk:
            who = handoff.agent.public_name if handoff.agent else "another agent"
            raise HandoffError(
                f"Conversation {conversation.pk} is with {who}; ask them, or have it transferred to you, to reply."
            )
        return ReplyClaim(handoff, locked=conversation_locked_row(conversation=conversation))


def handoff_take_over(*, conversation: Conversation, agent: Agent, team: Team | None, actor=None) -> Handoff:
    """An agent watching a bot conversation takes it: a handoff from the agent ("Agent took over"),
    assigned to them at once. Both transitions are stored (reports see a zero wait); the visitor
    is told only that the agent joined. Of two agents taking over at once, the first wins (the
    conversation row is locked) and the second is told who has it."""
    with transaction.atomic():
        conversation = _lock(conversation, with_customer=True)
        existing = _open_handoff(conversation)
        if existing is not None:
            who = existing.agent.public_name if existing.agent else "the queue"
            raise HandoffError(f"Conversation {conversation.pk} is already with {who}.")
        if conversation.status != Status.BOT:
            raise HandoffError(f"Conversation {conversation.pk} is {conversation.get_status_display().lower()}.")
        _check_access(actor=actor, conversation=conversation)
        now = timezone.now()
        handoff = Handoff.objects.create(
            conversation=conversation,
            source=Handoff.Source.AGENT,
            reason="Agent took over",
            team=team,
            status=Handoff.Status.ASSIGNED,
            agent=agent,
            assigned_at=now,
            first_assigned_at=now,
            **_handoff_facts(conversation=conversation, reason="Agent took over"),
        )
        Agent.objects.filter(pk=agent.pk).update(last_assigned_at=now)
        _record(
            conversation=conversation,
            handoff=handoff,
            action=HandoffEvent.Action.REQUEST,
            to_status=Status.QUEUED,
            reason="Agent took over",
            actor=actor,
            team=team,
        )
        conversation.waiting_since = None  # the visitor never waited: the agent came to them
        _transition(
            conversation=conversation,
            handoff=handoff,
            action=HandoffEvent.Action.ASSIGN,
            to_status=Status.ASSIGNED,
            reason="Took over from the bot",
            actor=actor,
            agent=agent,
            team=team,
            notice=_Notice(
                text=f"{agent.public_name} has joined the conversation.",
                metadata={"kind": "agent_joined", "agent": agent.public_name},
            ),
        )
    return handoff


def handoff_first_reply_record(*, conversation: Conversation, message: Message) -> None:
    """The assigned agent's first reply: when it came is the first-response time in reports."""
    Handoff.objects.filter(
        conversation=conversation, status=Handoff.Status.ASSIGNED, first_agent_reply_at__isnull=True
    ).update(first_agent_reply_at=message.created_at)


def handoff_verdict_set(*, handoff: Handoff, verdict: str, user) -> Handoff:
    """The agent's one-click label once the conversation is over: was this handoff needed?

    The agent who handled it or a manager may set it, and change it (a wrong click is undone with
    the right one); an empty verdict clears it. Reports measure each trigger's precision from it.
    """
    if verdict and verdict not in Handoff.Verdict.values:
        raise HandoffError(f"Choose one of: {', '.join(Handoff.Verdict.labels)}.")
    with transaction.atomic():
        handoff = Handoff.objects.select_for_update(of=("self",)).select_related("agent").get(pk=handoff.pk)
        if handoff.status in Handoff.OPEN_STATUSES:
            raise HandoffError(f"Conversation {handoff.conversation_id} is still open; label it once it is resolved.")
        if not user_is_manager(user) and (handoff.agent is None or handoff.agent.user_id != user.pk):
            raise HandoffError("Only the agent who handled this conversation (or a manager) can label it.")
        handoff.verdict = verdict
        handoff.verdict_by = user if verdict else None
        handoff.verdict_at = timezone.now() if verdict else None
        handoff.save(update_fields=["verdict", "verdict_by", "verdict_at"])
    return handoff


def rating_submit(*, conversation: Conversation, score: int, comment: str = "") -> SatisfactionRating:
    """The visitor's CSAT answer after resolution: about the person if one helped, else the bot.

    One answer per handoff (or per bot-only conversation); a second submission is refused.
    """
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise HandoffError("Choose a rating from 1 to 5.")
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status != Status.RESOLVED:
            raise HandoffError("You can rate the conversation once it is resolved.")
        # The latest handoff, if this resolution ended it; an older one was rated (or not) back then.
        handoff = conversation.handoffs.order_by("-requested_at").first()
        if handoff is not None and handoff.status != Handoff.Status.RESOLVED:
            handoff = None
        already = SatisfactionRating.objects.filter(conversation=conversation, handoff=handoff)
        if already.exists():
            raise HandoffError("Thanks, we already have your rating for this conversation.")
        helped_by = handoff.agent if handoff else None
        rating = SatisfactionRating.objects.create(
            conversation=conversation,
            handoff=handoff,
            subject=SatisfactionRating.Subject.HUMAN if helped_by else SatisfactionRating.Subject.BOT,
            agent=helped_by,
            score=score,
            comment=comment.strip()[:2000],
        )
        # The reports' inputs (reports/facts.py): the latest rating of each subject, and the handoff's.
        field = "csat_human" if rating.subject == SatisfactionRating.Subject.HUMAN else "csat_bot"
        Conversation.objects.filter(pk=conversation.pk).update(**{field: score})
        if handoff is not None:
            Handoff.objects.filter(pk=handoff.pk).update(csat_score=score)
        return rating


# --- Routing -----------------------------------------------------------------------------------------


def routing_request(*, team: Team | None) -> None:
    """Offer the team's queue to its free agents once the current transaction commits (at once
    outside one): routing takes locks of its own, and must not run, or be rolled back, inside
    the transaction of the change that called for it."""
    transaction.on_commit(lambda: routing_assign_waiting(team=team))


def routing_assign_waiting(*, team: Team | None, limit: int = 50) -> list[Handoff]:
    """Assign as many waiting handoffs of `team` as there are free agents; returns those assigned.

    Runs after every change that can free a slot or add work (a new handoff, an agent coming
    online, a conversation resolved, transferred or handed back), once that change has committed.
    """
    assigned = []
    for _ in range(limit):
        with transaction.atomic():
            pair = routing_next(team=team)
            if pair is None:
                break
            handoff, agent = pair
            try:
                assigned.append(handoff_assign(handoff=handoff, agent=agent, reason="Routed automatically"))
            except HandoffError as error:  # taken manually between our read and our write
                logger.info("routing skipped handoff %s: %s", handoff.pk, error)
    return assigned


def routing_assign_all() -> list[Handoff]:
    """Route every team's queue (the periodic sweep catches what a restart missed)."""
    assigned = []
    team_ids = set(Handoff.objects.filter(status=Handoff.Status.QUEUED).values_list("team_id", flat=True).distinct())
    for team_id in team_ids:
        team = Team.objects.filter(pk=team_id).first() if team_id else None
        assigned += routing_assign_waiting(team=team)
    return assigned
