"""The visitor's writes: who is on the socket, their messages, page views, email and feedback."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chat.models import Conversation, Customer, Message
from chat.selectors import message_with_client_id
from chat.services import conversation_start, message_create
from handoff.services import conversation_reopen
from widget.tokens import InvalidToken, token_issue, token_read

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
            version=self.customer.token_version,
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
    if claims.version != customer.token_version:
        raise InvalidToken("The token was revoked.")
    conversation = None
    if claims.conversation_id is not None:
        conversation = Conversation.objects.filter(public_id=claims.conversation_id).first()
        if conversation is None or conversation.customer_id != customer.pk:
            raise InvalidToken("The token names a conversation of another visitor.")
    Customer.objects.filter(pk=customer.pk).update(last_seen_at=timezone.now())
    return VisitorSession(customer=customer, conversation=conversation)


def customer_tokens_revoke(*, customer: Customer) -> None:
    """Sign the visitor out of the widget everywhere (a shared computer, a leaked token, a signed-in
    visitor who logged out): every token issued so far stops working at its next hello, which then
    starts over as a new visitor (invalid_token, close 4401). A conditional UPDATE: two revocations
    at once both count, and no token issued in between survives."""
    Customer.objects.filter(pk=customer.pk).update(token_version=F("token_version") + 1)


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


@dataclass(frozen=True)
class VisitorMessageResult:
    session: VisitorSession
    message: Message
    created: bool
    new_conversation: bool


def visitor_message_receive(
    *, session: VisitorSession, client_id: str, text: str, metadata: dict | None = None
) -> VisitorMessageResult:
    """A message from the widget: store it in the visitor's conversation, starting one if they have none.

    Writing in a resolved conversation reopens it first (handoff.services.conversation_reopen
    decides where it goes), so the bot or team sees the message in its new state.
    """
    conversation = session.conversation
    if conversation is not None and (
        existing := message_with_client_id(conversation_id=conversation.pk, client_id=client_id)
    ):
        return VisitorMessageResult(session=session, message=existing, created=False, new_conversation=False)
    with transaction.atomic():
        session, new_conversation = _open_conversation(session)
        message, created = message_create(
            conversation=session.conversation,
            sender=Message.Sender.VISITOR,
            text=text,
            client_id=client_id,
            metadata=metadata,
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
        conversation_reopen(conversation=conversation)
        conversation.refresh_from_db(fields=["status", "last_seq"])
    else:
        conversation.status = status  # last_seq is message_create's to read, under the same lock
    return session, False


class VisitorInputError(Exception):
    """Input from the widget that is well-formed but not acceptable; the message says why."""


def customer_email_set(*, conversation: Conversation, email: str) -> Customer:
    """The visitor left an email so the team can answer when nobody is online. Confirmed in the chat."""
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
            # Promised only when replies really are emailed (EMAIL_REPLIES_SENT).
            text=f"Thanks! If we can't reply here, we'll write to {email}."
            if settings.EMAIL_REPLIES_SENT
            else f"Thanks! The team will see {email} with your conversation.",
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
