"""Who gets the next waiting conversation.

Waiting handoffs are served highest priority first (VIP rules raise it), then oldest first.
Each goes to an online agent of its team with a free slot: the least loaded, and among equals
whoever was assigned longest ago (round robin). Routing runs after every change that can free
a slot or add work: a new handoff, an agent coming online, a conversation resolved or transferred.
"""

import logging

from django.db import transaction

from agents.models import Team
from agents.selectors import agents_available
from handoff.models import Handoff

logger = logging.getLogger(__name__)


def routing_assign_waiting(*, team: Team | None, limit: int = 50) -> list[Handoff]:
    """Assign as many waiting handoffs of `team` as there are free agents; returns those assigned."""
    from handoff.services import HandoffError, handoff_assign

    assigned = []
    for _ in range(limit):
        with transaction.atomic():
            # skip_locked: two routers running at once each take a different waiting handoff.
            handoff = (
                Handoff.objects.select_for_update(skip_locked=True)
                .filter(status=Handoff.Status.QUEUED, team=team)
                .order_by("-priority", "requested_at", "id")
                .first()
            )
            if handoff is None:
                break
            agent = agents_available(team=team).first()
            if agent is None:
                break
            try:
                assigned.append(handoff_assign(handoff=handoff, agent=agent, reason="Routed automatically"))
            except HandoffError as error:  # taken manually between our read and our write
                logger.info("routing skipped handoff %s: %s", handoff.pk, error)
    return assigned


def routing_assign_all() -> list[Handoff]:
    """Route every team's queue (an agent came online in several teams, or a periodic sweep)."""
    assigned = []
    team_ids = set(Handoff.objects.filter(status=Handoff.Status.QUEUED).values_list("team_id", flat=True).distinct())
    for team_id in team_ids:
        team = Team.objects.filter(pk=team_id).first() if team_id else None
        assigned += routing_assign_waiting(team=team)
    return assigned
