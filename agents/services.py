"""Agents' own writes: their availability (what it does to conversations is handoff/presence.py)."""

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from chat.realtime import ALL_TEAMS_GROUP, inbox_changed_event, send_to_group, team_group


class AgentError(Exception):
    """An agent action that cannot happen now; the message tells the agent why."""


def agent_status_set(*, agent: Agent, status: str, reason: str = "") -> tuple[Agent, str]:
    """Store the agent's availability and refresh their teams' inboxes; returns (agent, previous status).

    `reason` says why when the agent did not choose it ("All inbox tabs closed"); their inbox shows it.
    """
    if status not in Agent.Status.values:
        raise AgentError(f"Unknown status {status!r}; choose online, away or offline.")
    with transaction.atomic():
        agent = Agent.objects.select_for_update().get(pk=agent.pk)
        previous = agent.status
        agent.status = status
        agent.last_seen_at = agent.status_changed_at = timezone.now()
        agent.status_reason = reason[:200]
        agent.save(update_fields=["status", "last_seen_at", "status_changed_at", "status_reason"])
        event = inbox_changed_event()
        for group in {ALL_TEAMS_GROUP, *(team_group(team.pk) for team in agent.teams.all())}:
            send_to_group(group, event)
    return agent, previous
