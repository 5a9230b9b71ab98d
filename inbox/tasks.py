"""The inbox's periodic work (Celery beat)."""

from celery import shared_task

from inbox.triage import snoozes_wake_due


@shared_task(ignore_result=True)
def wake_snoozed_conversations() -> int:
    """Snoozes whose time has come end, and the inboxes re-render their lists and counts."""
    return snoozes_wake_due()
