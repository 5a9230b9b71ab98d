"""Broadcasts of handoff state to the visitor's widget (a `status` event, see docs/widget-protocol.md)."""

from chat.models import Conversation
from handoff.availability import wait_info, wait_text
from handoff.models import Handoff, HandoffEvent


def handoff_status_detail(*, conversation: Conversation, handoff: Handoff | None) -> dict:
    """What the widget's status line shows: queue position and wait, who is helping, or how to rate."""
    if conversation.status == Conversation.Status.RESOLVED:
        return {"csat": rating_subject(handoff)}
    if handoff is None:
        return {}
    if handoff.status == Handoff.Status.QUEUED:
        info = wait_info(handoff=handoff)
        return {**info.as_dict(), "text": wait_text(info), "ask_email": not info.open}
    if handoff.status == Handoff.Status.ASSIGNED and handoff.agent:
        return {"agent_name": handoff.agent.public_name, "text": f"You're chatting with {handoff.agent.public_name}."}
    return {}


def rating_subject(handoff: Handoff | None) -> dict:
    """Whom the visitor rates after a resolution: the person of the handoff just resolved, else the bot."""
    if handoff is not None and handoff.status == Handoff.Status.RESOLVED and handoff.agent:
        return {"subject": "human", "agent_name": handoff.agent.public_name, "handoff_id": handoff.pk}
    return {"subject": "bot", "agent_name": None, "handoff_id": handoff.pk if handoff else None}


def handoff_broadcast_state(*, conversation: Conversation, handoff: Handoff | None, event: HandoffEvent) -> None:
    """Send the conversation's new status once the transaction commits (chat.realtime defers it)."""
    from chat.realtime import broadcast_status

    broadcast_status(
        conversation=conversation,
        previous_status=event.from_status,
        reason=event.reason,
        detail=handoff_status_detail(conversation=conversation, handoff=handoff),
    )


def handoff_broadcast_queue_positions(*, team_id: int | None) -> None:
    """The queue moved: every visitor still waiting in this team gets their new position and wait."""
    from chat.realtime import broadcast_status

    waiting = Handoff.objects.filter(status=Handoff.Status.QUEUED, team_id=team_id).select_related("conversation")
    for handoff in waiting:
        broadcast_status(
            conversation=handoff.conversation,
            previous_status=handoff.conversation.status,
            reason="Queue update",
            detail=handoff_status_detail(conversation=handoff.conversation, handoff=handoff),
        )
