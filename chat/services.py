"""Writes for customers, conversations and messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat import realtime
from chat.models import Conversation, Customer, Message
from chat.tokens import InvalidToken, token_issue, token_read

MAX_PAGES_REMEMBERED = 10


@dataclass(frozen=True)
class VisitorSession:
    """Who is on the other end of a widget connection. A new visitor has neither row yet."""

    customer: Customer | None
    conversation: Conversation | None

    @property
    def token(self) -> str | None:
        if self.customer is None:
            return None
        return token_issue(
            customer_public_id=self.customer.public_id,
            conversation_public_id=self.conversation.public_id if self.conversation else None,
        )


def customer_get_or_create_from_token(*, token: str | None) -> VisitorSession:
    """Resolve a widget token to the visitor and their conversation.

    No token: a new visitor, whose rows are created with their first message (so page views
    that never chat leave nothing behind). A resolved conversation is continued (its history
    stays on screen, and writing again reopens it). Raises InvalidToken for a tampered,
    expired or foreign token (a customer/conversation pair that does not belong together).
    """
    if not token:
        return VisitorSession(customer=None, conversation=None)
    claims = token_read(token=token)
    customer = Customer.objects.filter(public_id=claims.customer_id).first()
    if customer is None:
        raise InvalidToken("The token names a visitor we do not know.")
    conversation = None
    if claims.conversation_id is not None:
        conversation = Conversation.objects.filter(public_id=claims.conversation_id).first()
        if conversation is None or conversation.customer_id != customer.pk:
            raise InvalidToken("The token names a conversation of another visitor.")
    Customer.objects.filter(pk=customer.pk).update(last_seen_at=timezone.now())
    return VisitorSession(customer=customer, conversation=conversation)


def customer_page_view(*, customer: Customer, url: str, title: str = "") -> None:
    """Remember the last pages the visitor chatted from (agents see them when a handoff arrives)."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        pages = [page for page in customer.attributes.get("pages", []) if isinstance(page, dict)]
        if pages and pages[-1].get("url") == url:
            return
        pages.append({"url": url[:500], "title": title[:200], "at": timezone.now().isoformat()})
        customer.attributes["pages"] = pages[-MAX_PAGES_REMEMBERED:]
        customer.save(update_fields=["attributes"])


def conversation_start(*, customer: Customer | None = None, channel: str = Conversation.Channel.WEB) -> Conversation:
    """A new conversation with the bot, for `customer` or for a new anonymous one."""
    with transaction.atomic():
        if customer is None:
            customer = Customer.objects.create()
        return Conversation.objects.create(customer=customer, channel=channel)


def message_create(
    *,
    conversation: Conversation,
    sender: str,
    text: str,
    author=None,
    client_id: str = "",
    metadata: dict[str, Any] | None = None,
) -> tuple[Message, bool]:
    """Store a message with the conversation's next seq and broadcast it after commit.

    Returns (message, created). A client_id already used in this conversation returns the
    stored message and False, so a retried send is stored once. Callers validate the text
    (chat.protocol does it for the widget).
    """
    if sender not in Message.Sender.values:
        raise ValueError(f"Unknown sender {sender!r}")
    if client_id and (existing := _message_with_client_id(conversation.pk, client_id)):
        return existing, False  # the common retry, answered without taking the lock
    with transaction.atomic():
        # The row lock serialises writers of this conversation: the client_id check below cannot
        # race another insert, and seq is allocated gap-free (last_seq is read and bumped under
        # the lock; bumping it before the check would burn a seq whenever the check finds a retry).
        last_seq = Conversation.objects.select_for_update().values_list("last_seq", flat=True).get(pk=conversation.pk)
        if client_id and (existing := _message_with_client_id(conversation.pk, client_id)):
            return existing, False
        seq = last_seq + 1
        now = timezone.now()
        Conversation.objects.filter(pk=conversation.pk).update(last_seq=seq, last_activity_at=now, updated_at=now)
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
        realtime.broadcast_message(message)
    return message, True


def _message_with_client_id(conversation_id: int, client_id: str) -> Message | None:
    return Message.objects.filter(conversation_id=conversation_id, client_id=client_id).first()


@dataclass(frozen=True)
class VisitorMessageResult:
    session: VisitorSession
    message: Message
    created: bool
    new_conversation: bool


def visitor_message_receive(*, session: VisitorSession, client_id: str, text: str) -> VisitorMessageResult:
    """A message from the widget: store it in the visitor's conversation, starting one if they have none.

    Writing in a resolved conversation reopens it first (handoff.services.conversation_reopen
    decides where it goes), so the bot or team sees the message in its new state.
    """
    conversation = session.conversation
    if conversation is not None and (existing := _message_with_client_id(conversation.pk, client_id)):
        return VisitorMessageResult(session=session, message=existing, created=False, new_conversation=False)
    with transaction.atomic():
        session, new_conversation = _open_conversation(session)
        message, created = message_create(
            conversation=session.conversation, sender=Message.Sender.VISITOR, text=text, client_id=client_id
        )
    return VisitorMessageResult(session=session, message=message, created=created, new_conversation=new_conversation)


def visitor_conversation_ensure(*, session: VisitorSession) -> tuple[VisitorSession, bool]:
    """The visitor's open conversation, started (or reopened) if needed, e.g. "Talk to a person" first."""
    with transaction.atomic():
        return _open_conversation(session)


def _open_conversation(session: VisitorSession) -> tuple[VisitorSession, bool]:
    conversation = session.conversation
    if conversation is None:
        conversation = conversation_start(customer=session.customer)
        return VisitorSession(customer=conversation.customer, conversation=conversation), True
    # Lock, so the status we act on is the status the next message is stored under.
    status = Conversation.objects.select_for_update().values_list("status", flat=True).get(pk=conversation.pk)
    if status == Conversation.Status.RESOLVED:
        from handoff.services import conversation_reopen

        conversation_reopen(conversation=conversation)
    conversation.refresh_from_db(fields=["status", "last_seq"])
    return session, False


class VisitorInputError(Exception):
    """Input from the widget that is well-formed but not acceptable; the message says why."""


def customer_email_set(*, conversation: Conversation, email: str) -> Customer:
    """The visitor left an email so the team can answer when nobody is online. Confirmed in the chat."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        raise VisitorInputError("Enter an email address like name@example.com.") from None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=conversation.customer_id)
        customer.email = email
        customer.save(update_fields=["email"])
        message_create(
            conversation=conversation,
            sender=Message.Sender.SYSTEM,
            text=f"Thanks! If we can't reply here, we'll write to {email}.",
            metadata={"kind": "contact_saved"},
        )
    return customer


def message_feedback_set(*, conversation: Conversation, seq: int, value: str) -> Message:
    """Thumbs up or down on one of the bot's answers in this conversation (the last vote counts)."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(conversation=conversation, seq=seq, sender=Message.Sender.BOT)
            .first()
        )
        if message is None:
            raise VisitorInputError("Feedback can only be given on the assistant's answers.")
        message.metadata = {**message.metadata, "feedback": value}
        message.save(update_fields=["metadata"])
    return message
