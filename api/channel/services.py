"""The API channel's writes, on the widget's own visitor pipeline (widget.services and widget.pipeline):
the same trigger rules, bot and handoffs; only the way back differs (chat.channels: by webhook)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import shared_task
from django.db import transaction

from api.webhooks.delivery import endpoints_active
from chat.models import Conversation, Customer, Message
from chat.services import conversation_start, customer_update
from widget.answering import visitor_message_answer
from widget.pipeline import handoff_request_from_visitor
from widget.services import VisitorSession, visitor_message_receive

CHANNEL = Conversation.Channel.API


class ChannelError(Exception):
    """The API channel cannot take this now; the message says what to fix."""


def channel_reply_route_check() -> None:
    """Replies to an API conversation travel only by webhook: without an endpoint receiving them
    (with personal data, or the bridge could not address its customer) the visitor would hear nothing."""
    for endpoint in endpoints_active():
        wants_messages = not endpoint["events"] or "message.created" in endpoint["events"]
        wants_channel = not endpoint["channels"] or CHANNEL in endpoint["channels"]
        if wants_messages and wants_channel and endpoint["personal_data"]:
            return
    raise ChannelError(
        "No active webhook endpoint receives message.created for API conversations (with personal data), so "
        "nothing the bot or an agent writes would reach the customer. Register one in admin → Webhook endpoints."
    )


def channel_conversation_start(
    *, external_id: str, details: dict[str, Any], attributes: dict[str, Any]
) -> Conversation:
    """A new API conversation for the bridge's customer `external_id` (found again by that id next time)."""
    channel_reply_route_check()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(external_id=external_id).order_by("id").first()
        if customer is None:
            customer = Customer.objects.create(external_id=external_id)
        customer = customer_update(customer=customer, changes=details, attributes=attributes)
        return conversation_start(customer=customer, channel=CHANNEL)


@dataclass(frozen=True)
class ChannelMessageResult:
    message: Message
    created: bool


def channel_message_receive(*, conversation: Conversation, text: str, client_id: str) -> ChannelMessageResult:
    """The customer wrote: stored like a widget message (a resolved conversation reopens), then the
    pipeline runs in a worker once committed, so a slow answer never holds up the bridge's request."""
    channel_reply_route_check()
    session = VisitorSession(customer=conversation.customer, conversation=conversation)
    with transaction.atomic():
        result = visitor_message_receive(session=session, client_id=client_id, text=text)
        if result.created:
            message_id = result.message.pk
            transaction.on_commit(lambda: channel_message_handle_task.delay(message_id))
    return ChannelMessageResult(message=result.message, created=result.created)


def channel_handoff_request(*, conversation: Conversation) -> None:
    """The customer asked for a person (the bridge's "talk to a person" button)."""
    handoff_request_from_visitor(conversation=conversation)


@shared_task(name="api.tasks.handle_channel_message", ignore_result=True, acks_late=True)
def channel_message_handle_task(message_id: int) -> None:
    visitor_message_answer(message_id=message_id)
