"""Broadcasts: the one place that calls the channel layer's group_send, and every group's name.

Every event a conversation's listeners receive (the visitor's widget, and the agents' inbox,
which joins the same `conversation_<id>` group) is built here as a TypedDict and sent through
`send_to_conversation`, which waits for the surrounding transaction to commit: a listener
that receives an event can always read the row it describes, and a rolled-back write is
never announced. The payloads are the wire format documented in docs/widget-protocol.md.

On the channel layer an event travels as {"type": "chat.<event type>", "event": <payload>},
so a consumer handles it in a method named after the event (`chat_message`, `chat_typing`,
`chat_status`, `chat_bot_delta`) and usually just forwards `event` to its socket.

The agents' inbox also listens on groups of its own (`team_<id>`, `agent_<id>`, every team's
`inbox_all`, and `inbox_conversation_<id>` for internal notes). Their events are typed and
built here too, and travel as {"type": "inbox.<event type>", "event": <payload>}.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

if TYPE_CHECKING:
    from chat.models import Conversation, Message

EventType = Literal["message", "typing", "status", "bot_delta"]
Sender = Literal["visitor", "bot", "agent", "system"]

# Only these metadata keys ever leave the server; the rest (trigger details, sentiment,
# retrieval internals) stays for the inbox and reports, which read the database.
PUBLIC_METADATA_KEYS = ("confidence", "declined", "feedback", "offer_person", "while_waiting")


class AuthorPayload(TypedDict):
    name: str


class SourcePayload(TypedDict):
    title: str
    url: str


class MessageEvent(TypedDict):
    type: Literal["message"]
    seq: int
    sender: Sender
    author: AuthorPayload | None
    text: str
    created_at: str
    client_id: str  # the visitor's idempotency key ("" for bot, agent and system messages)
    reply_to: int | None  # a bot reply: the seq of the visitor message it answers
    sources: list[SourcePayload]
    confidence: NotRequired[float]
    declined: NotRequired[bool]
    feedback: NotRequired[Literal["up", "down"]]  # the visitor's vote on a bot answer
    offer_person: NotRequired[bool]  # a bot answer offering a person (a trigger rule asked for it)
    while_waiting: NotRequired[bool]  # a bot answer to a visitor waiting for a person


class TypingEvent(TypedDict):
    type: Literal["typing"]
    sender: Sender
    author: AuthorPayload | None
    is_typing: bool


class StatusEvent(TypedDict):
    type: Literal["status"]
    status: str
    previous_status: str
    reason: str
    # Hints for the visitor's status line, filled by handoff.realtime.handoff_status_detail:
    # e.g. {"position": 3, "estimated_wait_seconds": 120, "agent_name": "Dana", "text": "..."}.
    detail: dict[str, Any]


class BotDeltaEvent(TypedDict):
    type: Literal["bot_delta"]
    reply_to: int
    text: str


ConversationEvent = MessageEvent | TypingEvent | StatusEvent | BotDeltaEvent


def conversation_group(conversation_id: int) -> str:
    return f"conversation_{conversation_id}"


ALL_TEAMS_GROUP = "inbox_all"  # managers see every team


def team_group(team_id: int | None) -> str:
    return f"team_{team_id}" if team_id else "team_none"


def agent_group(agent_id: int) -> str:
    return f"agent_{agent_id}"


def user_group(user_id: int) -> str:
    """Every inbox socket of one user (managers without an agent profile too): told when their
    access changes (signed out, deactivated, teams changed)."""
    return f"user_{user_id}"


def inbox_conversation_group(conversation_id: int) -> str:
    """Agents watching one conversation: internal notes go here, never to the visitor's group."""
    return f"inbox_conversation_{conversation_id}"


def send_to_conversation(conversation_id: int, event: ConversationEvent) -> None:
    """Send `event` to everyone listening to the conversation, once the current transaction commits.

    Outside a transaction (autocommit) it is sent at once. Safe to call from sync code in a
    consumer's worker thread: async_to_sync hands the send to the server's event loop.

    A channel layer that fails (Redis down) is logged, never raised: the write has committed, and
    turning it into an error would make the caller retry a stored message. Listeners catch up on
    reconnect (the widget's resume, the inbox's re-render).
    """
    first = _first_sends.get()
    if first is not None and first[0] == conversation_id:
        first[1].append(event)  # sent by the hook conversation_sends_first registered
        return
    transaction.on_commit(lambda: _group_send(conversation_id, event), robust=True)


# What `conversation_sends_first` keeps for one conversation (per thread of execution, like _held_sends).
_first_sends: ContextVar[tuple[int, list[ConversationEvent]] | None] = ContextVar("first_sends", default=None)


@contextmanager
def conversation_sends_first(conversation_id: int) -> Iterator[None]:
    """Inside the block (in a transaction), what is sent to the conversation goes out first once the
    transaction commits, in its order, before the commit hooks registered meanwhile: an agent's reply
    reaches the visitor before its follow-ups (an emailed copy and webhooks, a broker round trip each;
    for a waiting conversation, every other waiting visitor's queue update and routing).

    Nothing in the block may carry on after an error it caught: what it sent before would still go
    out (its callers let an error roll the whole transaction back).
    """
    if not transaction.get_connection().in_atomic_block:
        yield  # autocommit: every send goes out at once anyway
        return
    events: list[ConversationEvent] = []
    transaction.on_commit(lambda: _group_send_all(conversation_id, events), robust=True)
    token = _first_sends.set((conversation_id, events))
    try:
        yield
    finally:
        _first_sends.reset(token)


async def asend_to_conversation(conversation_id: int, event: ConversationEvent) -> None:
    """For async callers with nothing to commit (typing indicators from a consumer)."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(conversation_group(conversation_id), _envelope(event))


def _group_send(conversation_id: int, event: ConversationEvent) -> None:
    _group_send_to(conversation_group(conversation_id), _envelope(event))


def _group_send_all(conversation_id: int, events: list[ConversationEvent]) -> None:
    for event in events:
        _group_send(conversation_id, event)


def _group_send_to(group: str, envelope: dict[str, Any]) -> None:
    held = _held_sends.get()
    if held is not None:
        held.append((group, envelope))
        return
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, envelope)


# Sends held back by `sends_held` (per thread of execution: a context variable, which each
# database_sync_to_async call runs in a copy of).
_held_sends: ContextVar[list[tuple[str, dict[str, Any]]] | None] = ContextVar("held_sends", default=None)
HeldSends = list[tuple[str, dict[str, Any]]]


@contextmanager
def sends_held() -> Iterator[HeldSends]:
    """Keep the broadcasts of committed writes made inside the block, for `asend_held` to send later.

    The widget stores a visitor's message in a worker thread and acks it from the event loop: sent
    from the thread, the broadcast would hop to the loop and wait on Redis before the ack could go.
    """
    held: HeldSends = []
    token = _held_sends.set(held)
    try:
        yield held
    finally:
        _held_sends.reset(token)


async def asend_held(held: HeldSends) -> None:
    """Send what `sends_held` kept, in order; a failing channel layer is the caller's to log."""
    layer = get_channel_layer()
    if layer is not None:
        for group, envelope in held:
            await layer.group_send(group, envelope)


def _envelope(event: ConversationEvent) -> dict[str, Any]:
    return {"type": f"chat.{event['type']}", "event": event}


# --- Builders ------------------------------------------------------------------------------------


def author_name(message_author) -> str:
    """The name a visitor sees for a person: their agent display name, else their first name."""
    agent = getattr(message_author, "agent", None)
    return (getattr(agent, "display_name", "") or message_author.first_name or "Support").strip()


def message_event(message: Message) -> MessageEvent:
    author: AuthorPayload | None = None
    if message.sender == "agent":
        author = {"name": author_name(message.author) if message.author_id else "Support"}
    metadata = message.metadata or {}
    sources: list[SourcePayload] = [
        {"title": str(source.get("title", "")), "url": str(source.get("url", ""))}
        for source in metadata.get("sources", []) or []
        if isinstance(source, dict) and (source.get("url") or source.get("title"))
    ]
    event: MessageEvent = {
        "type": "message",
        "seq": message.seq,
        "sender": message.sender,
        "author": author,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "client_id": message.client_id,
        "reply_to": metadata.get("reply_to"),
        "sources": sources,
    }
    for key in PUBLIC_METADATA_KEYS:
        if key in metadata:
            event[key] = metadata[key]
    return event


def typing_event(*, sender: Sender, is_typing: bool, name: str = "") -> TypingEvent:
    return {"type": "typing", "sender": sender, "author": {"name": name} if name else None, "is_typing": is_typing}


def status_event(
    *, conversation: Conversation, previous_status: str = "", reason: str = "", detail: dict[str, Any] | None = None
) -> StatusEvent:
    return {
        "type": "status",
        "status": conversation.status,
        "previous_status": previous_status,
        "reason": reason,
        "detail": detail or {},
    }


# --- Shortcuts for the other apps -------------------------------------------------------------------


def broadcast_message(message: Message) -> None:
    send_to_conversation(message.conversation_id, message_event(message))


def broadcast_status(
    *, conversation: Conversation, previous_status: str = "", reason: str = "", detail: dict[str, Any] | None = None
) -> None:
    """Call after changing conversation.status (in the same transaction)."""
    send_to_conversation(
        conversation.pk,
        status_event(conversation=conversation, previous_status=previous_status, reason=reason, detail=detail),
    )


def broadcast_typing(*, conversation_id: int, sender: Sender, is_typing: bool, name: str = "") -> None:
    send_to_conversation(conversation_id, typing_event(sender=sender, is_typing=is_typing, name=name))


# --- Inbox events ----------------------------------------------------------------------------------


class InboxChangedEvent(TypedDict):
    """A queue, an agent's list or an agent's availability changed: each inbox re-renders its lists."""

    type: Literal["inbox_changed"]
    id: str  # one broadcast: a socket in several of the groups it is sent to handles it once
    conversation_id: NotRequired[int]  # the conversation that moved (a page showing it re-renders its header)
    status: NotRequired[str]  # that conversation's status now
    assigned_agent_id: NotRequired[int]  # a new assignment: that agent's browser chimes
    joined_queue: NotRequired[bool]  # a new request: the conversation joined its team's queue
    trigger_alert: NotRequired[str]  # a trigger rule alerted the team, and why


class NoteAddedEvent(TypedDict):
    type: Literal["note_added"]
    note_id: int


class AccessChangedEvent(TypedDict):
    """The user's access may have changed: each of their sockets checks again, and closes if it must."""

    type: Literal["access_changed"]
    reason: Literal["signed_out", "deactivated", "teams_changed"]


InboxEvent = InboxChangedEvent | NoteAddedEvent | AccessChangedEvent


def inbox_changed_event(
    *,
    conversation: Conversation | None = None,
    assigned_agent_id: int | None = None,
    trigger_alert: str = "",
    joined_queue: bool = False,
) -> InboxChangedEvent:
    event: InboxChangedEvent = {"type": "inbox_changed", "id": uuid.uuid4().hex}
    if conversation is not None:
        event.update(conversation_id=conversation.pk, status=conversation.status)
    if assigned_agent_id is not None:
        event["assigned_agent_id"] = assigned_agent_id
    if joined_queue:
        event["joined_queue"] = True
    if trigger_alert:
        event["trigger_alert"] = trigger_alert
    return event


def note_added_event(*, note_id: int) -> NoteAddedEvent:
    return {"type": "note_added", "note_id": note_id}


def access_changed_event(*, reason: Literal["signed_out", "deactivated", "teams_changed"]) -> AccessChangedEvent:
    return {"type": "access_changed", "reason": reason}


def send_to_group(group: str, event: InboxEvent) -> None:
    """Send an inbox event to a group once the current transaction commits; the inbox consumer
    handles it in `inbox_<event type>`."""
    envelope = {"type": f"inbox.{event['type']}", "event": event}
    transaction.on_commit(lambda: _group_send_to(group, envelope), robust=True)  # see send_to_conversation
