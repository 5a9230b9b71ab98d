"""Replies by email: what the bot or an agent writes reaches, by email, a visitor who left an address and is
not in the chat (the widget's "we'll reply there"), and every reply in an email conversation.

Queued after the message commits and sent from Celery (never in the chat's request or socket); whether
the visitor is in the chat is decided when the task runs. Each email carries a Reply-To naming the
conversation (reply+<token>@..., addresses.py) and Message-ID / In-Reply-To / References, so the
visitor's mail program threads it and their answer comes back into the same conversation (inbound.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from api.email_channel.addresses import DERIVED_ID_DOMAIN, new_message_id, reply_address
from api.models import EmailRecord, EmailThread
from chat.models import Conversation, Message
from chat.realtime import message_event
from widget.presence import visitor_in_chat

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # retried after 30 s, 90 s, 4.5 min, 13.5 min, 40 min: an hour of a mail server being away
RETRY_FIRST = dt.timedelta(seconds=30)
EMAILED_SENDERS = {Message.Sender.AGENT, Message.Sender.BOT}
# Replies to an API conversation go by webhook (api/channel), never by email.
EMAILED_CHANNELS = {Conversation.Channel.WEB, Conversation.Channel.EMAIL}


def email_reply_queue(sender, instance: Message, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of a Message: a reply for a visitor with an address is sent by email once committed."""
    if not created or raw or instance.sender not in EMAILED_SENDERS:
        return
    conversation = instance.conversation
    if conversation.channel not in EMAILED_CHANNELS or not conversation.customer.email:
        return
    message_id = instance.pk
    transaction.on_commit(lambda: email_reply_send_task.delay(message_id))


def email_thread_for(*, conversation: Conversation, subject: str = "") -> EmailThread:
    """The conversation's email thread, started with `subject` (or EMAIL_SUBJECT) the first time."""
    thread, _ = EmailThread.objects.get_or_create(
        conversation=conversation, defaults={"subject": subject_clean(subject) or settings.EMAIL_SUBJECT}
    )
    return thread


def subject_clean(subject: str) -> str:
    """One line, no control characters (a header cannot carry them), at most 200 characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in subject or "").split())[:200]


def email_reply_send(*, message_id: int) -> EmailRecord | None:
    """Email message `message_id` to its visitor unless they are in the chat (or it was sent already)."""
    message = Message.objects.select_related("conversation__customer").filter(pk=message_id).first()
    if message is None:
        return None
    conversation = message.conversation
    address = conversation.customer.email
    if not address or conversation.channel not in EMAILED_CHANNELS:
        return None
    if conversation.channel == Conversation.Channel.WEB and visitor_in_chat(conversation_id=conversation.pk):
        return None  # they read it in the widget
    record, _ = EmailRecord.objects.get_or_create(
        message=message,
        defaults={
            "thread": email_thread_for(conversation=conversation),
            "header_id": new_message_id(),
            "direction": EmailRecord.Direction.OUTBOUND,
            "status": EmailRecord.Status.PENDING,
            "address": address,
        },
    )
    return email_record_attempt(record_id=record.pk)


def email_record_attempt(*, record_id: int) -> EmailRecord:
    """One try at sending a pending email; a failure waits 30 s, 90 s, 4.5 min, ... for the sweep."""
    with transaction.atomic():
        # The lock makes a second worker on the same email (a redelivered task, the sweep) wait, then see it sent.
        locked = EmailRecord.objects.select_for_update(of=("self",)).select_related("thread", "message")
        record = locked.get(pk=record_id)
        if record.status != EmailRecord.Status.PENDING:
            return record
        record.attempts += 1
        try:
            _compose(record=record).send()
        except (smtplib.SMTPException, OSError) as error:
            record.error = f"{type(error).__name__}: {error}"[:500]
            if record.attempts >= MAX_ATTEMPTS:
                record.status, record.next_attempt_at = EmailRecord.Status.FAILED, None
                logger.warning("Gave up emailing message %s: %s", record.message_id, record.error)
            else:
                record.next_attempt_at = timezone.now() + RETRY_FIRST * 3 ** (record.attempts - 1)
        else:
            record.status, record.error, record.next_attempt_at = EmailRecord.Status.SENT, "", None
        record.save(update_fields=["attempts", "error", "status", "next_attempt_at"])
    return record


def email_records_retry(*, records) -> int:
    """A manager's "Send again now" (admin): outbound emails not yet sent are tried once more, at once."""
    with transaction.atomic():
        ids = list(
            records.filter(direction=EmailRecord.Direction.OUTBOUND)
            .exclude(status=EmailRecord.Status.SENT)
            .values_list("pk", flat=True)
        )
        # One more attempt each: a failed email that fails again is failed again, not retried for an hour.
        EmailRecord.objects.filter(pk__in=ids).update(
            status=EmailRecord.Status.PENDING, next_attempt_at=timezone.now(), attempts=MAX_ATTEMPTS - 1
        )
        transaction.on_commit(lambda: [email_record_attempt_task.delay(record_id) for record_id in ids])
    return len(ids)


def email_replies_sweep() -> int:
    """Send the emails whose retry is due (beat, every minute). Returns how many were tried."""
    due = EmailRecord.objects.filter(status=EmailRecord.Status.PENDING, next_attempt_at__lte=timezone.now())
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:100])
    for record_id in ids:
        email_record_attempt(record_id=record_id)
    return len(ids)


def _compose(*, record: EmailRecord) -> EmailMessage:
    thread, message = record.thread, record.message
    earlier = list(
        thread.records.filter(id__lt=record.pk)
        .exclude(status__in=[EmailRecord.Status.PENDING, EmailRecord.Status.FAILED])
        .exclude(header_id__endswith="@" + DERIVED_ID_DOMAIN)
        .values_list("header_id", flat=True)
    )
    headers = {"Message-ID": f"<{record.header_id}>"}
    if earlier:
        headers["In-Reply-To"] = f"<{earlier[-1]}>"
        headers["References"] = " ".join(f"<{header_id}>" for header_id in earlier[-20:])
    if message.sender == Message.Sender.BOT:
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: an out-of-office must not answer the bot
    subject = thread.subject if thread.subject.lower().startswith("re:") else f"Re: {thread.subject}"
    author = (message_event(message)["author"] or {}).get("name") or "Support assistant"
    body = (
        f"{message.text}\n\n{author}\n\n-- \nReply to this email to answer: your reply goes to the same conversation.\n"
    )
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[record.address],
        reply_to=[reply_address(token=thread.token)],
        headers=headers,
    )


@shared_task(name="api.tasks.send_email_reply", ignore_result=True, acks_late=True)
def email_reply_send_task(message_id: int) -> None:
    email_reply_send(message_id=message_id)


@shared_task(name="api.tasks.send_email_record", ignore_result=True, acks_late=True)
def email_record_attempt_task(record_id: int) -> None:
    email_record_attempt(record_id=record_id)


@shared_task(name="api.tasks.sweep_email_replies", ignore_result=True)
def email_replies_sweep_task() -> None:
    email_replies_sweep()
