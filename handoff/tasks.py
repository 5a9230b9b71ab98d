"""Periodic safety nets (Celery beat): routing and presence also run on every change; these catch
what a restart missed."""

from celery import shared_task

from handoff import presence
from handoff.services import routing_assign_all


@shared_task(ignore_result=True)
def route_waiting_conversations() -> int:
    """Offer every queue to free agents."""
    return len(routing_assign_all())


@shared_task(ignore_result=True)
def presence_sweep() -> int:
    """Online agents with no inbox tab left become away."""
    return presence.presence_sweep()
