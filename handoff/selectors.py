"""Reads for handoffs: a conversation's open one, the one to label, and routing's next (handoff, agent) pair."""

from agents.models import Agent, Team
from agents.selectors import agents_available
from chat.models import Conversation
from handoff.models import Handoff


def handoff_open(*, conversation: Conversation) -> Handoff | None:
    """The conversation's waiting or assigned handoff, if any (there is at most one)."""
    return conversation.handoffs.filter(status__in=Handoff.OPEN_STATUSES).first()


def handoff_to_label(*, conversation: Conversation) -> Handoff | None:
    """The handoff the agent can label once it is over (the latest, if none is still open)."""
    if conversation.handoffs.filter(status__in=Handoff.OPEN_STATUSES).exists():
        return None
    return conversation.handoffs.select_related("agent").order_by("-requested_at", "-id").first()


def routing_next(*, team: Team | None) -> tuple[Handoff, Agent] | None:
    """Who gets the next waiting conversation of `team`: None when nothing waits or nobody is free.

    Waiting handoffs are served highest priority first (VIP rules raise it), then oldest first.
    Each goes to an online agent of its team with a free slot: the least loaded, and among equals
    whoever was assigned longest ago (round robin). Call it inside a transaction: the handoff row
    stays locked until it commits, and skip_locked lets two routers running at once each take a
    different waiting handoff instead of queueing behind each other. A free agent is looked for first:
    with nobody free (a queue that waits, so every request that joins it) no handoff row is locked.
    """
    agent = agents_available(team=team).first()
    if agent is None:
        return None
    handoff = (
        Handoff.objects.select_for_update(skip_locked=True)
        .filter(status=Handoff.Status.QUEUED, team=team)
        .order_by("-priority", "requested_at", "id")
        .first()
    )
    if handoff is None:
        return None
    return handoff, agent
