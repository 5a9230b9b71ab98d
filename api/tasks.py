"""Celery finds the API's tasks here; they live beside the services they call."""

from api.webhooks.delivery import webhook_deliver_task, webhook_sweep_task

__all__ = ["webhook_deliver_task", "webhook_sweep_task"]
