"""Numbers for support managers, all derived from the stored transitions and ratings."""

import datetime as dt
import statistics
from dataclasses import dataclass

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from chat.models import Conversation
from handoff.models import Handoff, SatisfactionRating


@dataclass(frozen=True)
class Report:
    days: int
    conversations: int
    handed_off: int
    containment_rate: float | None  # share of conversations the bot finished alone
    median_wait_seconds: float | None  # requested -> assigned
    median_first_response_seconds: float | None  # assigned -> first agent reply
    median_handling_seconds: float | None  # assigned -> resolved
    csat_bot: float | None
    csat_human: float | None
    ratings: int
    by_reason: list[dict]
    by_team: list[dict]
    by_day: list[dict]


def _median_seconds(pairs) -> float | None:
    durations = [(end - start).total_seconds() for start, end in pairs if start and end]
    return round(statistics.median(durations), 1) if durations else None


def handoff_report(*, days: int = 30) -> Report:
    since = timezone.now() - dt.timedelta(days=days)
    conversations = Conversation.objects.filter(created_at__gte=since).count()
    handoffs = Handoff.objects.filter(requested_at__gte=since)
    handed_off = handoffs.values("conversation").distinct().count()
    ratings = SatisfactionRating.objects.filter(created_at__gte=since).aggregate(
        bot=Avg("score", filter=Q(subject="bot")), human=Avg("score", filter=Q(subject="human")), n=Count("id")
    )
    return Report(
        days=days,
        conversations=conversations,
        handed_off=handed_off,
        containment_rate=round(1 - handed_off / conversations, 3) if conversations else None,
        median_wait_seconds=_median_seconds(handoffs.values_list("requested_at", "assigned_at")[:5000]),
        median_first_response_seconds=_median_seconds(
            handoffs.values_list("assigned_at", "first_agent_reply_at")[:5000]
        ),
        median_handling_seconds=_median_seconds(
            handoffs.filter(status=Handoff.Status.RESOLVED).values_list("assigned_at", "ended_at")[:5000]
        ),
        csat_bot=round(ratings["bot"], 2) if ratings["bot"] is not None else None,
        csat_human=round(ratings["human"], 2) if ratings["human"] is not None else None,
        ratings=ratings["n"],
        by_reason=list(handoffs.values("reason").annotate(n=Count("id")).order_by("-n")[:15]),
        by_team=list(handoffs.values("team__name").annotate(n=Count("id")).order_by("-n")),
        by_day=list(
            handoffs.annotate(day=TruncDate("requested_at")).values("day").annotate(n=Count("id")).order_by("day")
        ),
    )
