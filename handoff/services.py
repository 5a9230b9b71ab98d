"""The handoff lifecycle: request, assign, transfer, return to queue, resolve, hand back, reopen.

Each service locks the conversation row (select_for_update) before reading its state, so two
requests for the same conversation are serialised by PostgreSQL and the second one sees what
the first one did. Every transition is stored as a HandoffEvent; what the visitor and the
agents see is broadcast only after the transaction commits (chat.realtime).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import Agent, Team
from agents.selectors import team_default
from chat.models import Conversation, Message
from handoff.availability import wait_info, wait_text
from handoff.models import Handoff, HandoffEvent, SatisfactionRating
from handoff.summary import summary_for_handoff

logger = logging.getLogger(__name__)

Status = Conversation.Status
SENTIMENT_TREND_LENGTH = 5


class HandoffError(Exception):
    """A transition that cannot happen now; the message tells a person why."""


@dataclass(frozen=True)
class _Transition:
    action: str
    to_status: str
    reason: str = ""
    note: str = ""


def _lock(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def _open_handoff(conversation: Conversation) -> Handoff | None:
    return (
        Handoff.objects.select_for_update().filter(conversation=conversation, status__in=Handoff.OPEN_STATUSES).first()
    )


def _record(
    *,
    conversation: Conversation,
    handoff: Handoff | None,
    transition: _Transition,
    actor=None,
    agent: Agent | None = None,
    team: Team | None = None,
) -> HandoffEvent:
    """Move the conversation to the transition's status and store the event row."""
    from_status = conversation.status
    conversation.status = transition.to_status
    conversation.last_activity_at = timezone.now()
    conversation.save(update_fields=["status", "last_activity_at", "updated_at"])
    return HandoffEvent.objects.create(
        conversation=conversation,
        handoff=handoff,
        action=transition.action,
        from_status=from_status,
        to_status=transition.to_status,
        reason=transition.reason[:300],
        note=transition.note,
        actor=actor,
        agent=agent,
        team=team,
    )


def _tell_visitor(*, conversation: Conversation, text: str, metadata: dict) -> None:
    from chat.services import message_create

    message_create(conversation=conversation, sender=Message.Sender.SYSTEM, text=text, metadata=metadata)


def _tell_visitor_they_wait(*, conversation: Conversation, handoff: Handoff, preface: str = "") -> None:
    """Queue position and wait, or the team's hours and a request for an email when nobody can answer."""
    info = wait_info(handoff=handoff)
    _tell_visitor(
        conversation=conversation,
        text=preface + wait_text(info),
        metadata={"kind": "handoff_queued", "wait": info.as_dict(), "ask_email": not info.open},
    )


def _broadcast(*, conversation: Conversation, handoff: Handoff | None, event: HandoffEvent) -> None:
    """Tell the visitor's widget and the agents' inboxes that this conversation changed state."""
    from handoff.realtime import handoff_broadcast_queue_positions, handoff_broadcast_state

    handoff_broadcast_state(conversation=conversation, handoff=handoff, event=event)
    if handoff is not None:
        joined = handoff if event.to_status == Status.QUEUED else None
        handoff_broadcast_queue_positions(team_id=handoff.team_id, after=joined)
    from handoff.inbox_events import inbox_notify

    inbox_notify(conversation=conversation, handoff=handoff)


def _customer_context(conversation: Conversation) -> dict:
    customer = conversation.customer
    trend = list(
        conversation.messages.filter(sender=Message.Sender.VISITOR, sentiment__isnull=False)
        .order_by("-seq")
        .values_list("sentiment", flat=True)[:SENTIMENT_TREND_LENGTH]
    )
    return {
        "customer": {
            "name": customer.name,
            "email": customer.email,
            "external_id": customer.external_id,
            "attributes": customer.attributes,
        },
        "sentiment": conversation.sentiment,
        "sentiment_trend": list(reversed(trend)),
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
    with transaction.atomic():
        conversation = _lock(conversation)
        existing = _open_handoff(conversation)
        if existing is not None:
            return existing
        team = team or team_default()
        trigger = dict(trigger or {})
        if rule is not None:
            trigger.update(rule_id=rule.pk, rule_name=str(rule))
        handoff = Handoff.objects.create(
            conversation=conversation,
            source=source,
            reason=reason[:200],
            trigger=trigger,
            team=team,
            priority=priority,
            summary=summary_for_handoff(conversation=conversation, reason=reason),
            context=_customer_context(conversation),
        )
        event = _record(
            conversation=conversation,
            handoff=handoff,
            transition=_Transition(HandoffEvent.Action.REQUEST, Status.QUEUED, reason),
            actor=actor,
            team=team,
        )
        _tell_visitor_they_wait(conversation=conversation, handoff=handoff)
        _broadcast(conversation=conversation, handoff=handoff, event=event)
    _route(team)
    return handoff


def _route(team: Team | None) -> None:
    """Offer the team's queue to its free agents right away (a new handoff may be first in line)."""
    from handoff.routing import routing_assign_waiting

    routing_assign_waiting(team=team)


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
        now = timezone.now()
        handoff.status = Handoff.Status.ASSIGNED
        handoff.agent = agent
        handoff.assigned_at = now
        handoff.save(update_fields=["status", "agent", "assigned_at"])
        Agent.objects.filter(pk=agent.pk).update(last_assigned_at=now)
        event = _record(
            conversation=conversation,
            handoff=handoff,
            transition=_Transition(HandoffEvent.Action.ASSIGN, Status.ASSIGNED, reason),
            actor=actor,
            agent=agent,
            team=handoff.team,
        )
        _tell_visitor(
            conversation=conversation,
            text=f"{agent.public_name} has joined the conversation.",
            metadata={"kind": "agent_joined", "agent": agent.public_name},
        )
        _broadcast(conversation=conversation, handoff=handoff, event=event)
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
        if to_agent is not None:
            if handoff.agent_id == to_agent.pk:
                raise HandoffError(f"Conversation {conversation.pk} is already with {to_agent.public_name}.")
            handoff.status, handoff.agent, handoff.assigned_at = Handoff.Status.ASSIGNED, to_agent, timezone.now()
            to_status, visitor_text = Status.ASSIGNED, f"{to_agent.public_name} is taking over the conversation."
        else:
            handoff.status, handoff.agent, handoff.team = Handoff.Status.QUEUED, None, to_team
            to_status, visitor_text = Status.QUEUED, f"Transferring you to our {to_team.name} team."
        handoff.save(update_fields=["status", "agent", "team", "assigned_at"])
        event = _record(
            conversation=conversation,
            handoff=handoff,
            transition=_Transition(HandoffEvent.Action.TRANSFER, to_status, "Transferred", note=note),
            actor=actor,
            agent=to_agent,
            team=to_team or handoff.team,
        )
        _tell_visitor(conversation=conversation, text=visitor_text, metadata={"kind": "transfer"})
        _broadcast(conversation=conversation, handoff=handoff, event=event)
    if to_team is not None:
        _route(to_team)
    return handoff


def handoff_return_to_queue(*, handoff: Handoff, reason: str, actor=None) -> Handoff:
    """Put an assigned conversation back in its team's queue (its agent went offline, say)."""
    with transaction.atomic():
        conversation = _lock(handoff.conversation)
        handoff = _open_handoff(conversation)
        if handoff is None or handoff.status != Handoff.Status.ASSIGNED:
            raise HandoffError(f"Conversation {conversation.pk} is not with an agent.")
        previous_agent = handoff.agent
        handoff.status, handoff.agent, handoff.assigned_at = Handoff.Status.QUEUED, None, None
        handoff.save(update_fields=["status", "agent", "assigned_at"])
        event = _record(
            conversation=conversation,
            handoff=handoff,
            transition=_Transition(HandoffEvent.Action.RETURN_TO_QUEUE, Status.QUEUED, reason),
            actor=actor,
            agent=previous_agent,
            team=handoff.team,
        )
        _tell_visitor_they_wait(
            conversation=conversation, handoff=handoff, preface="We're finding another person to help you. "
        )
        _broadcast(conversation=conversation, handoff=handoff, event=event)
    _route(handoff.team)
    return handoff


def handoff_resolve(*, conversation: Conversation, actor=None, reason: str = "Resolved by the agent") -> Handoff | None:
    """Close the conversation and ask the visitor to rate it (the person's help, if one helped)."""
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status == Status.RESOLVED:
            raise HandoffError(f"Conversation {conversation.pk} is already resolved.")
        handoff = _open_handoff(conversation)
        if handoff is not None:
            handoff.status, handoff.ended_at = Handoff.Status.RESOLVED, timezone.now()
            handoff.save(update_fields=["status", "ended_at"])
        event = _record(
            conversation=conversation,
            handoff=handoff,
            transition=_Transition(HandoffEvent.Action.RESOLVE, Status.RESOLVED, reason),
            actor=actor,
            agent=handoff.agent if handoff else None,
        )
        helped_by = handoff.agent.public_name if handoff and handoff.agent else None
        _tell_visitor(
            conversation=conversation,
            text="This conversation has been resolved. How did we do?",
            metadata={
                "kind": "csat_request",
                "subject": "human" if helped_by else "bot",
                "agent": helped_by,
                "handoff_id": handoff.pk if handoff else None,
            },
        )
        _broadcast(conversation=conversation, handoff=handoff, event=event)
        from knowledge.learning.generation import suggestions_request_generation

        suggestions_request_generation(conversation_id=conversation.pk)  # what the bot can learn, in a worker
    if handoff is not None and handoff.agent_id:
        _route(handoff.team)  # the agent has a free slot again
    return handoff


def handoff_hand_back(*, conversation: Conversation, actor=None) -> None:
    """Give the conversation back to the bot, which answers the visitor's next message."""
    with transaction.atomic():
        conversation = _lock(conversation)
        handoff = _open_handoff(conversation)
        if handoff is None:
            raise HandoffError(f"Conversation {conversation.pk} is already with the bot.")
        handoff.status, handoff.ended_at = Handoff.Status.HANDED_BACK, timezone.now()
        handoff.save(update_fields=["status", "ended_at"])
        event = _record(
            conversation=conversation,
            handoff=handoff,
            transition=_Transition(HandoffEvent.Action.HAND_BACK, Status.BOT, "Handed back to the bot"),
            actor=actor,
            agent=handoff.agent,
        )
        _tell_visitor(
            conversation=conversation,
            text="You're back with our assistant. Ask for a person again any time.",
            metadata={"kind": "handed_back"},
        )
        _broadcast(conversation=conversation, handoff=handoff, event=event)
    if handoff.agent_id:
        _route(handoff.team)


def conversation_reopen(*, conversation: Conversation) -> Handoff | None:
    """A visitor wrote in a resolved conversation: back to the bot, or to the same team (HANDOFF_REOPEN_TO)."""
    reopen_to = getattr(settings, "HANDOFF_REOPEN_TO", "bot")
    with transaction.atomic():
        conversation = _lock(conversation)
        if conversation.status != Status.RESOLVED:
            return None
        last = conversation.handoffs.order_by("-requested_at").first()
        event = _record(
            conversation=conversation,
            handoff=last,
            transition=_Transition(HandoffEvent.Action.REOPEN, Status.BOT, "The visitor wrote again"),
        )
        if reopen_to == "team" and last is not None:
            return handoff_request(
                conversation=conversation,
                reason="Reopened by the visitor",
                source=Handoff.Source.VISITOR,
                team=last.team,
                priority=last.priority,
            )
        _broadcast(conversation=conversation, handoff=None, event=event)
    return None


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
        return SatisfactionRating.objects.create(
            conversation=conversation,
            handoff=handoff,
            subject=SatisfactionRating.Subject.HUMAN if helped_by else SatisfactionRating.Subject.BOT,
            agent=helped_by,
            score=score,
            comment=comment.strip()[:2000],
        )
