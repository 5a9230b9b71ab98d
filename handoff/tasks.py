"""Periodic safety nets (Celery beat): routing and presence also run on every change; these catch
what a restart missed."""

from celery import shared_task

from handoff import presence
from handoff.services import conversations_resolve_idle, routing_assign_all


@shared_task(ignore_result=True)
def route_waiting_conversations() -> int:
    """Offer every queue to free agents."""
    return len(routing_assign_all())


@shared_task(ignore_result=True)
def presence_sweep() -> int:
    """Online agents with no inbox tab left become away."""
    return presence.presence_sweep()


@shared_task(ignore_result=True)
def resolve_idle_bot_conversations() -> int:
    """Bot conversations left idle end, with the bot's CSAT asked (HANDOFF_BOT_IDLE_RESOLVE_MINUTES)."""
    return len(conversations_resolve_idle())
