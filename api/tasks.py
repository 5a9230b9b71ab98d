"""Celery finds the API's tasks here; they live beside the services they call."""

from api.channel.services import channel_message_handle_task
from api.email_channel.imap import email_fetch_task
from api.email_channel.outbound import email_record_attempt_task, email_replies_sweep_task, email_reply_send_task
from api.integrations.hubspot import hubspot_log_conversation_task, hubspot_sync_contact_task
from api.webhooks.delivery import webhook_deliver_task, webhook_sweep_task

__all__ = [
    "channel_message_handle_task",
    "email_fetch_task",
    "email_record_attempt_task",
    "email_replies_sweep_task",
    "email_reply_send_task",
    "hubspot_log_conversation_task",
    "hubspot_sync_contact_task",
    "webhook_deliver_task",
    "webhook_sweep_task",
]
