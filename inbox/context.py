"""Template contexts shared by the inbox views (HTTP) and the inbox consumer (WebSocket pushes)."""

from agents.models import Agent, Team
from chat.models import Conversation
from handoff.models import Handoff
from handoff.selectors import handoff_open
from inbox.selectors import inbox_mine, inbox_queue
from inbox.transcript import transcript_entries


def sidebar_context(*, user, agent: Agent | None) -> dict:
    queue = list(inbox_queue(user=user))
    mine = list(inbox_mine(agent=agent))
    return {
        "agent": agent,
        "queue": queue,
        "mine": mine,
        "unread_total": sum(handoff.unread for handoff in mine),
        "statuses": Agent.Status.choices,
    }


def header_context(*, agent: Agent | None, conversation: Conversation) -> dict:
    handoff = handoff_open(conversation=conversation) or conversation.handoffs.order_by("-requested_at").first()
    teams = Team.objects.order_by("name")
    return {
        "conversation": conversation,
        "customer": conversation.customer,
        "handoff": handoff,
        "transfer_agents": Agent.objects.filter(teams__in=teams).select_related("user").distinct(),
        "transfer_teams": teams,
        "can_accept": handoff is not None and handoff.status == Handoff.Status.QUEUED and agent is not None,
        "is_open": conversation.status in (Conversation.Status.QUEUED, Conversation.Status.ASSIGNED),
    }


def conversation_context(*, user, agent: Agent | None, conversation: Conversation) -> dict:
    return {
        **sidebar_context(user=user, agent=agent),
        **header_context(agent=agent, conversation=conversation),
        "entries": transcript_entries(conversation=conversation),
    }
