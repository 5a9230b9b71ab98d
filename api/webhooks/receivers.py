"""What becomes a webhook event (and a HubSpot call, an emailed reply): rows the lower floors create, seen
through Django's post_save (the lower apps do not know webhooks exist). Each receiver runs inside the
transaction that stored the row, so the delivery is stored, or rolled back, with it."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from api.email_channel.outbound import email_reply_queue
from api.integrations.hubspot import (
    hubspot_enabled,
    hubspot_log_conversation_task,
    hubspot_settings_changed,
    hubspot_sync_contact_task,
)
from api.models import HubSpotIntegration, WebhookEndpoint
from api.webhooks import events
from api.webhooks.delivery import endpoints_changed, webhook_event_emit
from chat.models import Conversation, Message
from handoff.models import HandoffEvent, SatisfactionRating
from knowledge.models import TrainingSuggestion


def _about_conversation(event_type: str, conversation: Conversation, **parts) -> None:
    """An event about a conversation: its snapshot plus `parts` (name -> builder of that part)."""
    webhook_event_emit(
        event_type=event_type,
        channel=conversation.channel,
        data=lambda: (
            {"conversation": events.conversation_data(conversation)} | {name: build() for name, build in parts.items()}
        ),
    )


def conversation_created(sender, instance: Conversation, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        _about_conversation("conversation.created", instance)


def message_created(sender, instance: Message, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        _about_conversation("message.created", instance.conversation, message=lambda: events.message_data(instance))


def handoff_event_created(sender, instance: HandoffEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    _hubspot(instance)
    if event_type := events.HANDOFF_ACTION_EVENTS.get(instance.action):
        _about_conversation(event_type, instance.conversation, handoff=lambda: events.handoff_data(instance))


def _hubspot(event: HandoffEvent) -> None:
    """HubSpot on handoff (contact facts into the customer) and on resolution (the transcript), in Celery."""
    conversation_id = event.conversation_id
    if event.action == HandoffEvent.Action.REQUEST and hubspot_enabled():
        transaction.on_commit(lambda: hubspot_sync_contact_task.delay(conversation_id))
    elif event.action == HandoffEvent.Action.RESOLVE and event.handoff_id and hubspot_enabled():
        reason = event.handoff.reason
        transaction.on_commit(lambda: hubspot_log_conversation_task.delay(conversation_id, reason))


def rating_created(sender, instance: SatisfactionRating, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        _about_conversation("csat.created", instance.conversation, rating=lambda: events.rating_data(instance))


def suggestion_created(sender, instance: TrainingSuggestion, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        webhook_event_emit(
            event_type="suggestion.created", data=lambda: {"suggestion": events.suggestion_data(instance)}
        )


def endpoint_changed(sender, **kwargs) -> None:
    endpoints_changed()


def hubspot_changed(sender, **kwargs) -> None:
    hubspot_settings_changed()


def connect() -> None:
    post_save.connect(conversation_created, sender=Conversation, dispatch_uid="webhooks-conversation")
    post_save.connect(message_created, sender=Message, dispatch_uid="webhooks-message")
    post_save.connect(email_reply_queue, sender=Message, dispatch_uid="email-reply")
    post_save.connect(handoff_event_created, sender=HandoffEvent, dispatch_uid="webhooks-handoff-event")
    post_save.connect(rating_created, sender=SatisfactionRating, dispatch_uid="webhooks-rating")
    post_save.connect(suggestion_created, sender=TrainingSuggestion, dispatch_uid="webhooks-suggestion")
    post_save.connect(endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-endpoint-saved")
    post_delete.connect(endpoint_changed, sender=WebhookEndpoint, dispatch_uid="webhooks-endpoint-deleted")
    post_save.connect(hubspot_changed, sender=HubSpotIntegration, dispatch_uid="hubspot-saved")
