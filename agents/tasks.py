import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from agents.models import Agent
from agents.services import agent_mark_away_if_gone


@shared_task(ignore_result=True)
def presence_sweep() -> int:
    """Safety net for presence: online agents with no inbox tab left (a server restarted before
    its grace-period check ran) become away. Returns how many were changed."""
    grace = dt.timedelta(seconds=getattr(settings, "HANDOFF_PRESENCE_GRACE_SECONDS", 30))
    stale = Agent.objects.filter(
        status=Agent.Status.ONLINE, connections__isnull=True, last_seen_at__lt=timezone.now() - grace
    )
    return sum(agent_mark_away_if_gone(agent_id=agent.pk, connected_tabs=0) for agent in stale)
