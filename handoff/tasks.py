from celery import shared_task

from handoff.routing import routing_assign_all


@shared_task(ignore_result=True)
def route_waiting_conversations() -> int:
    """Periodic sweep: offer every queue to free agents (routing also runs on each change)."""
    return len(routing_assign_all())
