"""Presence policy: what an agent's availability does to the conversations waiting and held.

Coming online offers the agent's teams' queues to them; going offline returns their conversations
to the queue (HANDOFF_REQUEUE_ON_OFFLINE, on by default); when an agent's last inbox tab closes,
an online agent becomes away after a grace period (HANDOFF_PRESENCE_GRACE_SECONDS), unless a tab
opens again in between.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from agents.models import Agent, AgentConnection
from agents.services import agent_status_set
from handoff.models import Handoff
from handoff.services import handoff_return_to_queue, routing_request

CONNECTION_HEARTBEAT_SECONDS = 60
CONNECTION_STALE_AFTER_SECONDS = 3 * CONNECTION_HEARTBEAT_SECONDS


def agent_set_status(*, agent: Agent, status: str, reason: str = "") -> Agent:
    """Change availability; routing sees it at once (raises AgentError for an unknown status).
    `reason` is given when the agent did not choose it; their inbox tells them."""
    agent, previous = agent_status_set(agent=agent, status=status, reason=reason)
    if status == Agent.Status.OFFLINE and previous != status and settings.HANDOFF_REQUEUE_ON_OFFLINE:
        for handoff in Handoff.objects.filter(agent=agent, status=Handoff.Status.ASSIGNED):
            handoff_return_to_queue(handoff=handoff, reason=reason or f"{agent.public_name} went offline")
    if status == Agent.Status.ONLINE:
        for team in agent.teams.all():
            routing_request(team=team)
    return agent


def agent_mark_away_if_gone(*, agent_id: int, connected_tabs: int) -> bool:
    """Called a grace period after an inbox tab closed: with no tab left, an online agent is away."""
    if connected_tabs > 0:
        return False
    agent = Agent.objects.filter(pk=agent_id, status=Agent.Status.ONLINE).first()
    if agent is None:
        return False
    agent_set_status(agent=agent, status=Agent.Status.AWAY, reason="All inbox tabs closed")
    return True


def agent_connection_touch(*, channel_name: str) -> None:
    """The inbox tab on `channel_name` is still open (its consumer calls this every heartbeat)."""
    AgentConnection.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def presence_sweep() -> int:
    """Online agents with no inbox tab left (a server restarted before its grace-period check ran)
    become away. Returns how many were changed.

    Tabs of a process that crashed left their rows behind: a row not refreshed for a few heartbeats
    is gone, or its agent would stay online, and keep receiving conversations, for ever.
    """
    stale = timezone.now() - dt.timedelta(seconds=CONNECTION_STALE_AFTER_SECONDS)
    AgentConnection.objects.filter(seen_at__lt=stale).delete()
    grace = dt.timedelta(seconds=settings.HANDOFF_PRESENCE_GRACE_SECONDS)
    stale = Agent.objects.filter(
        status=Agent.Status.ONLINE, connections__isnull=True, last_seen_at__lt=timezone.now() - grace
    )
    return sum(agent_mark_away_if_gone(agent_id=agent.pk, connected_tabs=0) for agent in stale)
