"""The webhook events: their names, their payloads (version 1) and the schema documenting them.

Every delivery is an envelope {"id", "type", "api_version", "created_at", "data"}; `data` holds the
objects below. Payloads are snapshots taken in the transaction that caused the event, so a receiver
sees the state the event describes even if it is delivered late.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiWebhook, extend_schema
from rest_framework import serializers

from chat.models import Conversation, Message
from chat.realtime import message_event
from knowledge.scrub import scrub_personal_data

API_VERSION = "1"

EVENTS: dict[str, str] = {
    "conversation.created": "A conversation started, on any channel.",
    "message.created": "A message was stored: the visitor's, the bot's, an agent's, or a system notice "
    "(queue position, agent joined, ...). For API-channel conversations this is how replies reach the bridge.",
    "handoff.requested": "The conversation is waiting for a person (a trigger rule, the visitor, an agent).",
    "handoff.assigned": "A person took the conversation.",
    "handoff.transferred": "The conversation moved to another agent or team.",
    "handoff.returned": "The conversation went back to its team's queue (its agent went offline, say).",
    "handoff.resolved": "The conversation was resolved.",
    "handoff.handed_back": "A person gave the conversation back to the bot.",
    "handoff.cancelled": "The visitor no longer needed a person while waiting; the bot has the conversation again.",
    "conversation.reopened": "The visitor wrote in a resolved conversation.",
    "csat.created": "A visitor rated the conversation.",
    "suggestion.created": "The bot proposed a change to the knowledge base from conversations.",
}
HANDOFF_ACTION_EVENTS = {
    "request": "handoff.requested",
    "assign": "handoff.assigned",
    "transfer": "handoff.transferred",
    "return_to_queue": "handoff.returned",
    "resolve": "handoff.resolved",
    "hand_back": "handoff.handed_back",
    "cancel": "handoff.cancelled",
    "reopen": "conversation.reopened",
}


# --- Payload shapes (documentation and rendering) ---------------------------------------------------------


class CustomerPayload(serializers.Serializer):
    id = serializers.IntegerField()
    public_id = serializers.UUIDField()
    external_id = serializers.CharField()
    name = serializers.CharField(help_text="Empty unless the endpoint receives personal data.")
    email = serializers.CharField(help_text="Empty unless the endpoint receives personal data.")


class ConversationPayload(serializers.Serializer):
    id = serializers.IntegerField()
    public_id = serializers.UUIDField()
    channel = serializers.ChoiceField(choices=Conversation.Channel.choices)
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    tags = serializers.ListField(child=serializers.CharField())
    customer = CustomerPayload()


class MessagePayload(serializers.Serializer):
    seq = serializers.IntegerField()
    sender = serializers.ChoiceField(choices=Message.Sender.choices)
    author = serializers.DictField(allow_null=True, help_text='{"name": ...} for an agent\'s message.')
    text = serializers.CharField(help_text="Personal data scrubbed unless the endpoint receives it.")
    created_at = serializers.DateTimeField()
    client_id = serializers.CharField(help_text="The sender's idempotency key (visitor and API messages).")
    reply_to = serializers.IntegerField(allow_null=True, help_text="A bot answer: the seq it answers.")
    kind = serializers.CharField(help_text="A system notice's kind (handoff_queued, agent_joined, ...), else empty.")


class HandoffPayload(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField()
    source = serializers.CharField(help_text="visitor, trigger or agent")
    team = serializers.CharField(allow_null=True, help_text="The team's slug.")
    agent = serializers.CharField(allow_null=True, help_text="The agent's display name.")
    priority = serializers.IntegerField()


class RatingPayload(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField()
    subject = serializers.CharField(help_text="bot or human")
    agent = serializers.CharField(allow_null=True)


class SuggestionPayload(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    confidence = serializers.FloatField()
    impact = serializers.IntegerField()


def _envelope(event_type: str, data: type[serializers.Serializer]) -> type[serializers.Serializer]:
    name = "".join(part.capitalize() for part in event_type.replace(".", "_").split("_"))
    envelope = type(
        f"{name}Event",
        (serializers.Serializer,),
        {
            "id": serializers.UUIDField(help_text="The event's id; the same for each endpoint, and on a redelivery."),
            "type": serializers.ChoiceField(choices=[event_type]),
            "api_version": serializers.ChoiceField(choices=[API_VERSION]),
            "created_at": serializers.DateTimeField(),
            "data": data(),
        },
    )
    return envelope


def _data(name: str, **fields) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), fields)


_DATA = {
    "conversation.created": _data("ConversationCreatedData", conversation=ConversationPayload()),
    "message.created": _data("MessageCreatedData", conversation=ConversationPayload(), message=MessagePayload()),
    "csat.created": _data("CsatCreatedData", conversation=ConversationPayload(), rating=RatingPayload()),
    "suggestion.created": _data("SuggestionCreatedData", suggestion=SuggestionPayload()),
}
_HANDOFF_DATA = _data("HandoffEventData", conversation=ConversationPayload(), handoff=HandoffPayload())

WEBHOOK_DOCS = [
    OpenApiWebhook(
        name=event_type,
        decorator=extend_schema(
            summary=event_type,
            description=f"{description} Signed with `Handoff-Signature` (see docs/webhooks.md); answer 2xx "
            "within 10 s, or the delivery is retried with exponential backoff.",
            request=_envelope(event_type, _DATA.get(event_type, _HANDOFF_DATA)),
            responses={200: None},
        ),
    )
    for event_type, description in EVENTS.items()
]


# --- Builders --------------------------------------------------------------------------------------------


def envelope(*, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "api_version": API_VERSION,
        "created_at": timezone.now().isoformat(),
        "data": data,
    }


def conversation_data(conversation: Conversation) -> dict[str, Any]:
    customer = conversation.customer
    return {
        "id": conversation.pk,
        "public_id": str(conversation.public_id),
        "channel": conversation.channel,
        "status": conversation.status,
        "tags": list(conversation.tags or []),
        "customer": {
            "id": customer.pk,
            "public_id": str(customer.public_id),
            "external_id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
        },
    }


def message_data(message: Message) -> dict[str, Any]:
    event = message_event(message)  # the widget's wire format: one builder for what a visitor sees
    return {
        "seq": event["seq"],
        "sender": event["sender"],
        "author": event["author"],
        "text": event["text"],
        "created_at": event["created_at"],
        "client_id": event["client_id"],
        "reply_to": event["reply_to"],
        "kind": str((message.metadata or {}).get("kind", "")),
    }


def handoff_data(event) -> dict[str, Any]:
    """From a HandoffEvent row (handoff.models), the transition it records."""
    handoff = event.handoff
    return {
        "id": handoff.pk if handoff else None,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "source": handoff.source if handoff else "",
        "team": event.team.slug if event.team else (handoff.team.slug if handoff and handoff.team else None),
        "agent": event.agent.public_name if event.agent else None,
        "priority": handoff.priority if handoff else 0,
    }


def rating_data(rating) -> dict[str, Any]:
    return {
        "score": rating.score,
        "comment": rating.comment,
        "subject": rating.subject,
        "agent": rating.agent.public_name if rating.agent else None,
    }


def suggestion_data(suggestion) -> dict[str, Any]:
    return {
        "id": suggestion.pk,
        "kind": suggestion.kind,
        "title": suggestion.title,
        "confidence": suggestion.confidence,
        "impact": suggestion.impact,
    }


def without_personal_data(payload: dict[str, Any]) -> dict[str, Any]:
    """For endpoints not trusted with personal data: no names or addresses, message text scrubbed."""
    data = dict(payload["data"])
    if "conversation" in data:
        conversation = dict(data["conversation"])
        conversation["customer"] = {**conversation["customer"], "name": "", "email": ""}
        data["conversation"] = conversation
    if "message" in data:
        data["message"] = {**data["message"], "text": scrub_personal_data(data["message"]["text"])}
    if "rating" in data:
        data["rating"] = {**data["rating"], "comment": scrub_personal_data(data["rating"]["comment"])}
    return {**payload, "data": data}
