"""An email from a visitor becomes a visitor message in the conversation it answers, or in a new email
conversation, and runs through the widget's own pipeline (trigger rules, the bot, handoffs, the inbox).

Threading, most trusted first: the reply address's token (reply+<token>@..., only ever sent to the visitor);
then In-Reply-To / References naming an email of ours or theirs, if it comes from the conversation's own
address (a Message-ID is not a secret: it travels in every quoted reply).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from api.channel.services import channel_message_handle_task
from api.email_channel.addresses import DERIVED_ID_DOMAIN, our_addresses, reply_token
from api.email_channel.outbound import email_thread_for
from api.email_channel.parsing import InboundEmail, reply_text
from api.models import EmailRecord, EmailThread
from chat.models import Conversation, Customer, Message
from chat.services import conversation_start
from widget.ratelimit import rate_limit_hit
from widget.services import VisitorSession, visitor_message_receive

logger = logging.getLogger(__name__)

# New rows per sender: a person writes a few emails an hour; a script writing hundreds is refused.
EMAILS_PER_SENDER, EMAILS_WINDOW_SECONDS = 30, 3600


@dataclass(frozen=True)
class InboundResult:
    status: str  # "stored", "duplicate" or "ignored"
    message: Message | None = None
    reason: str = ""


def _ignored(reason: str) -> InboundResult:
    return InboundResult(status="ignored", reason=reason)


def email_inbound_receive(*, email: InboundEmail) -> InboundResult:
    """Store the visitor's email as their message (once, however often it is delivered) and answer it."""
    if email.automatic:
        return _ignored("An automatic reply, a bounce or list mail: not answered, so no mail loop starts.")
    if email.sender in our_addresses():
        return _ignored("Sent from this desk's own address.")
    header_id = email.message_id or _derived_id(email)
    if seen := _record(header_id):
        return InboundResult(status="duplicate", message=seen.message)
    text = reply_text(email)
    if not text:
        return _ignored("Nothing new in it: only quoted history or a signature.")
    budget = rate_limit_hit(key=f"email:{email.sender}", limit=EMAILS_PER_SENDER, window_seconds=EMAILS_WINDOW_SECONDS)
    if not budget.allowed:
        return _ignored(f"More than {EMAILS_PER_SENDER} emails from {email.sender} within an hour.")
    try:
        with transaction.atomic():
            thread = _thread_for(email) or _new_conversation(email)
            conversation = thread.conversation
            session = VisitorSession(customer=conversation.customer, conversation=conversation)
            result = visitor_message_receive(
                session=session,
                client_id="email:" + hashlib.sha256(header_id.encode()).hexdigest()[:40],
                text=text,
                metadata={"via": "email", "subject": email.subject[:200]},
            )
            EmailRecord.objects.create(
                thread=thread,
                message=result.message if result.created else None,
                header_id=header_id,
                direction=EmailRecord.Direction.INBOUND,
                status=EmailRecord.Status.RECEIVED,
                address=email.sender,
            )
            if result.created:
                message_id = result.message.pk
                transaction.on_commit(lambda: channel_message_handle_task.delay(message_id))
    except IntegrityError:
        if seen := _record(header_id):  # the same email delivered twice at the same moment
            return InboundResult(status="duplicate", message=seen.message)
        raise
    return InboundResult(status="stored" if result.created else "duplicate", message=result.message)


def _record(header_id: str) -> EmailRecord | None:
    return EmailRecord.objects.select_related("message").filter(header_id=header_id).first()


def _derived_id(email: InboundEmail) -> str:
    """An email without a Message-ID gets one from its content, so a second delivery is still recognised."""
    digest = hashlib.sha256("\n".join([email.sender, email.subject, email.text, email.html]).encode()).hexdigest()
    return f"{digest[:40]}@{DERIVED_ID_DOMAIN}"


def _thread_for(email: InboundEmail) -> EmailThread | None:
    threads = EmailThread.objects.select_related("conversation__customer")
    if (token := reply_token(list(email.recipients))) and (thread := threads.filter(token=token).first()):
        return thread
    answered = [*email.in_reply_to, *reversed(email.references)]
    if not answered:
        return None
    record = (
        EmailRecord.objects.select_related("thread__conversation__customer")
        .filter(header_id__in=answered)
        .order_by("-id")
        .first()
    )
    if record and record.thread.conversation.customer.email.lower() == email.sender:
        return record.thread
    return None


def _new_conversation(email: InboundEmail) -> EmailThread:
    """A new email conversation, for the customer who has this address (the latest seen) or a new one."""
    customer = Customer.objects.filter(email__iexact=email.sender).order_by("-last_seen_at").first()
    if customer is None:
        customer = Customer.objects.create(email=email.sender, name=email.sender_name)
    conversation = conversation_start(customer=customer, channel=Conversation.Channel.EMAIL)
    return email_thread_for(conversation=conversation, subject=email.subject)
