"""Agents' writes: availability, presence, internal notes, replies, read markers."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import Agent, ConversationRead, InternalNote
from chat.models import Conversation, Message

logger = logging.getLogger(__name__)


class AgentError(Exception):
    """An agent action that cannot happen now; the message tells the agent why."""


def agent_set_status(*, agent: Agent, status: str, reason: str = "") -> Agent:
    """Change availability. Routing sees it at once: online agents get waiting conversations,
    and (HANDOFF_REQUEUE_ON_OFFLINE, on by default) an agent going offline hands theirs back to the queue."""
    from handoff.models import Handoff
    from handoff.routing import routing_assign_waiting
    from handoff.services import handoff_return_to_queue

    if status not in Agent.Status.values:
        raise AgentError(f"Unknown status {status!r}; choose online, away or offline.")
    with transaction.atomic():
        agent = Agent.objects.select_for_update().get(pk=agent.pk)
        previous = agent.status
        agent.status = status
        agent.last_seen_at = timezone.now()
        agent.save(update_fields=["status", "last_seen_at"])
        _notify_teams(agent)
    if status == Agent.Status.OFFLINE and previous != status and getattr(settings, "HANDOFF_REQUEUE_ON_OFFLINE", True):
        for handoff in Handoff.objects.filter(agent=agent, status=Handoff.Status.ASSIGNED):
            handoff_return_to_queue(handoff=handoff, reason=reason or f"{agent.public_name} went offline")
    if status == Agent.Status.ONLINE:
        for team in agent.teams.all():
            routing_assign_waiting(team=team)
    return agent


def _notify_teams(agent: Agent) -> None:
    from chat.realtime import send_to_group
    from handoff.inbox_events import ALL_TEAMS_GROUP, team_group

    event = {"type": "inbox_changed", "agent_id": agent.pk, "agent_status": agent.status}
    for group in {ALL_TEAMS_GROUP, *(team_group(team.pk) for team in agent.teams.all())}:
        send_to_group(group, event)


def agent_touch(*, agent: Agent) -> None:
    Agent.objects.filter(pk=agent.pk).update(last_seen_at=timezone.now())


def agent_mark_away_if_gone(*, agent_id: int, connected_tabs: int) -> bool:
    """Called a grace period after an inbox tab closed: with no tab left, an online agent is away."""
    if connected_tabs > 0:
        return False
    agent = Agent.objects.filter(pk=agent_id, status=Agent.Status.ONLINE).first()
    if agent is None:
        return False
    agent_set_status(agent=agent, status=Agent.Status.AWAY, reason="All inbox tabs closed")
    return True


def agent_reply(*, agent_user, conversation: Conversation, text: str) -> Message:
    """An agent's message to the visitor (only while the conversation is with a person)."""
    from chat.services import message_create
    from handoff.models import Handoff

    text = text.strip()
    if not text:
        raise AgentError("Write a reply first.")
    if len(text) > 4000:
        raise AgentError("Replies are limited to 4,000 characters.")
    if conversation.status not in (Conversation.Status.QUEUED, Conversation.Status.ASSIGNED):
        state = conversation.get_status_display().lower()
        raise AgentError(f"Conversation {conversation.pk} is {state}; a person can reply once it is handed off.")
    with transaction.atomic():
        message, _ = message_create(
            conversation=conversation, sender=Message.Sender.AGENT, text=text, author=agent_user
        )
        Handoff.objects.filter(
            conversation=conversation, status=Handoff.Status.ASSIGNED, first_agent_reply_at__isnull=True
        ).update(first_agent_reply_at=message.created_at)
    return message


def note_add(*, author, conversation: Conversation, text: str) -> InternalNote:
    """An internal note: stored and shown to agents in the transcript, never sent to the visitor."""
    from chat.realtime import send_to_group

    text = text.strip()
    if not text:
        raise AgentError("Write the note first.")
    with transaction.atomic():
        note = InternalNote.objects.create(conversation=conversation, author=author, text=text[:4000])
        # Agents' conversation views listen on their own group: the visitor's group never sees notes.
        send_to_group(f"inbox_conversation_{conversation.pk}", {"type": "note_added", "note_id": note.pk})
    return note


def conversation_mark_read(*, agent: Agent, conversation: Conversation) -> None:
    ConversationRead.objects.update_or_create(
        agent=agent, conversation=conversation, defaults={"last_read_seq": conversation.last_seq}
    )
