"""Writes for conversations and messages (the visitor's own writes are in widget/services.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from chat import realtime
from chat.models import Conversation, Customer, Message
from chat.selectors import message_with_client_id


def conversation_start(*, customer: Customer | None = None, channel: str = Conversation.Channel.WEB) -> Conversation:
    """A new conversation with the bot, for `customer` or for a new anonymous one."""
    with transaction.atomic():
        if customer is None:
            customer = Customer.objects.create()
        return Conversation.objects.create(customer=customer, channel=channel)


class LockedConversation(NamedTuple):
    """What writers of a conversation decide on, read under its row lock."""

    status: str
    last_seq: int
    snoozed_at: dt.datetime | None
    team_id: int | None


def conversation_lock(*, conversation: Conversation) -> LockedConversation:
    """Lock the conversation's row until the caller's transaction ends, and read it."""
    return LockedConversation(
        *Conversation.objects.select_for_update()
        .values_list("status", "last_seq", "snoozed_at", "team_id")
        .get(pk=conversation.pk)
    )


def conversation_locked_row(*, conversation: Conversation) -> LockedConversation:
    """What message_create needs of a row the caller locked and read whole in this transaction
    (select_for_update) and has written since only through this same instance."""
    return LockedConversation(conversation.status, conversation.last_seq, conversation.snoozed_at, conversation.team_id)


def message_create(
    *,
    conversation: Conversation,
    sender: str,
    text: str,
    author=None,
    client_id: str = "",
    metadata: dict[str, Any] | None = None,
    locked: LockedConversation | None = None,
) -> tuple[Message, bool]:
    """Store a message with the conversation's next seq and broadcast it after commit.

    Returns (message, created). A client_id already used in this conversation returns the
    stored message and False, so a retried send is stored once. Callers validate the text
    (widget.protocol does it for the widget). `locked`: the row as the caller locked it in this
    same transaction (conversation_lock) and has not written since, or has written only through the
    instance it read it into (conversation_locked_row), so it is not locked and read a second time.
    """
    if sender not in Message.Sender.values:
        raise ValueError(f"Unknown sender {sender!r}")
    # The common retry, answered without taking the lock; inside a caller's transaction the caller
    # has usually checked already (widget.services), and the check under the lock below decides anyway.
    in_transaction = transaction.get_connection().in_atomic_block
    if (
        client_id
        and not in_transaction
        and (existing := message_with_client_id(conversation_id=conversation.pk, client_id=client_id))
    ):
        return existing, False
    # No savepoint inside a caller's transaction (two round trips per message): nothing here is
    # worth catching and carrying on after, so a failure rolls the caller back with it.
    with transaction.atomic(savepoint=False):
        # The row lock serialises writers of this conversation: the client_id check below cannot
        # race another insert, and seq is allocated gap-free (last_seq is read and bumped under
        # the lock; bumping it before the check would burn a seq whenever the check finds a retry).
        if locked is None:
            locked = conversation_lock(conversation=conversation)
        _status, last_seq, snoozed_at, team_id = locked
        if client_id and (existing := message_with_client_id(conversation_id=conversation.pk, client_id=client_id)):
            return existing, False
        seq = last_seq + 1
        now = timezone.now()
        bot_answer = _bot_answer_facts(sender=sender, metadata=metadata or {})
        Conversation.objects.filter(pk=conversation.pk).update(
            last_seq=seq,
            last_activity_at=now,
            updated_at=now,
            **_inbox_changes(sender=sender, now=now),
            **bot_answer,
        )
        message = Message.objects.create(
            conversation=conversation,
            seq=seq,
            sender=sender,
            author=author,
            text=text,
            client_id=client_id,
            metadata=metadata or {},
        )
        conversation.last_seq = seq
        conversation.last_activity_at = now
        for name, value in bot_answer.items():
            setattr(conversation, name, value)
        realtime.broadcast_message(message)
        if snoozed_at is not None and sender == Message.Sender.VISITOR:
            # Woken by the visitor (_inbox_changes): it is back in its team's lists, which re-render.
            for group in (realtime.ALL_TEAMS_GROUP, realtime.team_group(team_id)):
                realtime.send_to_group(group, realtime.inbox_changed_event(conversation=conversation))
    return message, True


def customer_update(
    *, customer: Customer, changes: dict[str, Any], attributes: dict[str, Any] | None = None
) -> Customer:
    """Change a customer's details; `attributes` are merged into the stored ones (None removes a key).

    Locked, so two integrations writing different attributes at once (a CRM sync, the API) keep both.
    """
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        for name, value in changes.items():
            setattr(customer, name, value)
        if attributes:
            merged = {**customer.attributes, **attributes}
            customer.attributes = {key: value for key, value in merged.items() if value is not None}
        customer.save()
    return customer


def _inbox_changes(*, sender: str, now) -> dict[str, Any]:
    """What a new message does to the inbox's fields: a visitor's wakes a snoozed conversation and,
    with a person involved, starts the wait for a reply (if not already waiting); an agent's ends it."""
    if sender == Message.Sender.VISITOR:
        with_a_person = [Conversation.Status.QUEUED, Conversation.Status.ASSIGNED]
        return {
            "snoozed_at": None,
            "snoozed_until": None,
            "waiting_since": Case(
                When(status__in=with_a_person, waiting_since__isnull=True, then=Value(now)),
                default=F("waiting_since"),
            ),
        }
    if sender == Message.Sender.AGENT:
        return {"waiting_since": None}
    return {}


def _bot_answer_facts(*, sender: str, metadata: dict[str, Any]) -> dict[str, bool]:
    """A bot answer's part of the reports' outcome inputs (Conversation.bot_answered and
    bot_last_declined), written in the UPDATE that reserves its seq: no query of its own. Under the
    row lock, so the last one written is the answer with the highest seq."""
    if sender != Message.Sender.BOT:
        return {}
    return {"bot_answered": True, "bot_last_declined": metadata.get("declined") is True}


def message_mark_handled(*, message: Message) -> bool:
    """Record that the pipeline is done with a visitor message; False if something already was.

    A conditional UPDATE rather than read-then-write: two runs of the same work (a redelivered
    task, the sweep) cannot both see it unhandled, so the one whose transaction stores the bot's
    reply is the only one that does.
    """
    claimed = Message.objects.filter(pk=message.pk, handled_at__isnull=True).update(handled_at=timezone.now())
    return claimed == 1
