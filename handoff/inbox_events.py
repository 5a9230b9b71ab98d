"""Signals to the agents' inboxes that their lists changed.

The inbox consumer re-renders the queue and "mine" lists for its own user when it receives
`inbox.changed` (each agent sees only their teams, so the HTML is rendered per connection).
A new assignment also goes to the assigned agent's own group so their browser can chime.
"""

from chat.models import Conversation
from handoff.models import Handoff

ALL_TEAMS_GROUP = "inbox_all"  # managers see every team


def team_group(team_id: int | None) -> str:
    return f"team_{team_id}" if team_id else "team_none"


def agent_group(agent_id: int) -> str:
    return f"agent_{agent_id}"


def inbox_notify(*, conversation: Conversation, handoff: Handoff | None) -> None:
    from chat.realtime import send_to_group

    event = {"type": "inbox_changed", "conversation_id": conversation.pk, "status": conversation.status}
    groups = {ALL_TEAMS_GROUP, team_group(handoff.team_id if handoff else None)}
    if handoff is not None and handoff.agent_id:
        groups.add(agent_group(handoff.agent_id))
        if handoff.status == Handoff.Status.ASSIGNED:
            event["assigned_agent_id"] = handoff.agent_id
    for group in sorted(groups):
        send_to_group(group, event)
