"""What a handoff's changes look like to the visitor's widget (a `status` event, see
docs/widget-protocol.md) and to the agents' inboxes (`inbox_changed` to the teams concerned)."""

from django.db import transaction

from chat.models import Conversation
from chat.realtime import ALL_TEAMS_GROUP, agent_group, broadcast_status, inbox_changed_event, send_to_group, team_group
from handoff.availability import (
    TeamQueue,
    WaitInfo,
    queued_in_order,
    queued_last,
    wait_info,
    wait_status_text,
    wait_text,
    waited_seconds,
)
from handoff.models import Handoff, HandoffEvent


def handoff_status_detail(*, conversation: Conversation, handoff: Handoff | None, wait: WaitInfo | None = None) -> dict:
    """What the widget's status line shows: queue position and wait, who is helping, or how to rate.
    `wait`: the queued handoff's wait, when the caller has just estimated it (several queries)."""
    if conversation.status == Conversation.Status.RESOLVED:
        return {"csat": rating_subject(handoff)}
    if handoff is None:
        return {}
    if handoff.status == Handoff.Status.QUEUED:
        return _queued_detail(wait or wait_info(handoff=handoff), handoff)
    if handoff.status == Handoff.Status.ASSIGNED and handoff.agent:
        return {"agent_name": handoff.agent.public_name, "text": f"You're chatting with {handoff.agent.public_name}."}
    return {}


def _queued_detail(info: WaitInfo, handoff: Handoff) -> dict:
    return {
        **info.as_dict(),
        "text": wait_text(info),
        "status_text": wait_status_text(info),
        "bot_while_waiting": handoff.bot_while_waiting,
    }


def rating_subject(handoff: Handoff | None) -> dict:
    """Whom the visitor rates after a resolution: the person of the handoff just resolved, else the bot."""
    if handoff is not None and handoff.status == Handoff.Status.RESOLVED and handoff.agent:
        return {"subject": "human", "agent_name": handoff.agent.public_name, "handoff_id": handoff.pk}
    return {"subject": "bot", "agent_name": None, "handoff_id": handoff.pk if handoff else None}


def handoff_broadcast_state(
    *, conversation: Conversation, handoff: Handoff | None, event: HandoffEvent | None, wait: WaitInfo | None = None
) -> None:
    """Send the conversation's new status once the transaction commits (chat.realtime defers it).
    Without an event the status is unchanged and only its details moved."""
    broadcast_status(
        conversation=conversation,
        previous_status=event.from_status if event else conversation.status,
        reason=event.reason if event else "",
        detail=handoff_status_detail(conversation=conversation, handoff=handoff, wait=wait),
    )


def handoff_broadcast_queue_positions(*, team_id: int | None, after: Handoff | None = None) -> None:
    """The queue moved: visitors still waiting in this team get their new position and wait.

    With `after` (a handoff that just joined the queue), only those behind it moved; otherwise
    (someone left the queue) everyone may have. The team's shared numbers are computed once.

    Computed once the transaction commits, from the committed queue: computed inside it, a visitor an
    agent took meanwhile (another transaction, committed first) was told "number N in line" after
    "You're chatting with Dana".
    """
    after_id = after.pk if after is not None else None
    transaction.on_commit(lambda: _broadcast_queue_positions(team_id=team_id, after_id=after_id), robust=True)


def _broadcast_queue_positions(*, team_id: int | None, after_id: int | None) -> None:
    if after_id is not None and queued_last(handoff_id=after_id, team_id=team_id):
        return  # the usual case: the newcomer is last in line, everyone else keeps their place
    waiting = queued_in_order(team_id=team_id)
    if not waiting:
        return
    queue = TeamQueue.now(team=waiting[0].team)
    start = next((i + 1 for i, h in enumerate(waiting) if after_id is not None and h.pk == after_id), 0)
    for index, handoff in enumerate(waiting[start:], start=start + 1):
        info = queue.info(position=index, waited_seconds=waited_seconds(handoff))
        broadcast_status(
            conversation=handoff.conversation,
            previous_status=handoff.conversation.status,
            reason="Queue update",
            detail=_queued_detail(info, handoff),
        )


def handoff_broadcast_inbox(*, conversation: Conversation, handoff: Handoff | None, joined_queue: bool = False) -> None:
    """The conversation's place in the inboxes changed: tell its team, managers, and its agent.

    Each inbox re-renders its lists for its own user (each agent sees only their teams). A new
    assignment also names the agent, whose browser chimes. `joined_queue`: a new request, which was
    in no inbox's sidebar before (the inboxes may add its row alone).
    """
    assigned = handoff.agent_id if handoff is not None and handoff.status == Handoff.Status.ASSIGNED else None
    event = inbox_changed_event(conversation=conversation, assigned_agent_id=assigned, joined_queue=joined_queue)
    groups = {ALL_TEAMS_GROUP, team_group(handoff.team_id if handoff else None)}
    if handoff is not None and handoff.agent_id:
        groups.add(agent_group(handoff.agent_id))
    for group in sorted(groups):
        send_to_group(group, event)
