"""What the visitor is told while waiting: open or not, position in the queue, estimated wait.

The estimate: a queued conversation starts when one of the team's busy agent slots frees up.
With S slots (the online agents' max_concurrent added up) each freeing about once per median
handling time H (assignment to resolution, this team's handoffs over the last 7 days, 6 minutes
when there is no history yet), slots free at a rate of S/H, so the k-th in line waits about k*H/S.
It is deliberately simple, stated to the visitor as "about N minutes", and refreshed whenever
the queue moves.

The visitor also reads a range, and the range is what we promise: it is the estimate scaled by
how far the team's real waits fell from their estimates over the last 30 days (the 10th and 90th
percentile of real / estimated), so about 80% of real waits land inside it; with fewer than 20
such handoffs it is half to twice the estimate. handoff_request stores the promise on the handoff
and reports compare it with the real wait.
"""

import datetime as dt
import math
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from agents.hours import business_now, team_hours_text, team_is_open, team_next_opening, team_with_hours
from agents.models import Team
from agents.selectors import agents_online
from handoff.models import Handoff
from handoff.stats import PercentileCont, Seconds

DEFAULT_HANDLING_SECONDS = 6 * 60
HISTORY = dt.timedelta(days=7)
RANGE_HISTORY = dt.timedelta(days=30)
RANGE_MIN_SAMPLES = 20
RANGE_PERCENTILES = (0.1, 0.9)  # the promised range is meant to hold 80% of real waits
DEFAULT_RANGE_FACTORS = (0.5, 2.0)


@dataclass(frozen=True)
class WaitInfo:
    team: str
    open: bool  # within business hours and someone online
    position: int | None  # 1 = next in line; None when already with an agent
    in_hours: bool  # within the team's business hours (open is False also when nobody is online)
    estimated_wait_seconds: int | None
    wait_low_seconds: int | None  # the range the visitor is promised
    wait_high_seconds: int | None
    hours: str
    next_opening: str | None  # ISO datetime when the team next opens, if closed
    reopens: str  # next_opening in the visitor's words: "today at 08:00", "Monday at 08:00"
    out_of_hours_message: str
    # Ask for an email now, or in this many seconds (in hours with nobody online, the visitor is
    # asked once they have waited HANDOFF_EMAIL_ASK_AFTER_SECONDS; out of hours, at once).
    ask_email: bool = False
    ask_email_in_seconds: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def median_handling_seconds(*, team: Team | None) -> float:
    since = timezone.now() - HISTORY
    median = Handoff.objects.filter(
        status=Handoff.Status.RESOLVED, assigned_at__isnull=False, ended_at__gte=since, team=team
    ).aggregate(median=PercentileCont(Seconds(F("ended_at") - F("assigned_at")), fraction=0.5))["median"]
    return median if median is not None else DEFAULT_HANDLING_SECONDS


def wait_range_factors(*, team: Team | None) -> tuple[float, float]:
    """How far real waits fell from their estimates lately: (low, high) multipliers of an estimate."""
    low, high = RANGE_PERCENTILES
    ratio = Seconds(F("first_assigned_at") - F("requested_at")) / F("wait_estimate_seconds")
    found = Handoff.objects.filter(
        team=team,
        requested_at__gte=timezone.now() - RANGE_HISTORY,
        wait_estimate_seconds__gt=0,
        first_assigned_at__isnull=False,
    ).aggregate(n=Count("id"), low=PercentileCont(ratio, fraction=low), high=PercentileCont(ratio, fraction=high))
    if found["n"] < RANGE_MIN_SAMPLES:
        return DEFAULT_RANGE_FACTORS
    # The range always holds the estimate itself ("about 6 minutes (between 4 and 9 minutes)").
    return min(found["low"], 1.0), max(found["high"], 1.0)


def queue_position(*, handoff: Handoff) -> int:
    ahead = Handoff.objects.filter(status=Handoff.Status.QUEUED, team=handoff.team).filter(
        Q(priority__gt=handoff.priority)
        | Q(priority=handoff.priority, requested_at__lt=handoff.requested_at)
        | Q(priority=handoff.priority, requested_at=handoff.requested_at, pk__lt=handoff.pk)
    )
    return ahead.count() + 1


def queue_position_of_newcomer(*, team: Team | None, priority: int) -> int:
    """Where a handoff requested now will wait (before it is stored): behind everyone waiting at its
    priority or higher, queue_position's order for a request newer than all of them."""
    return Handoff.objects.filter(status=Handoff.Status.QUEUED, team=team, priority__gte=priority).count() + 1


@dataclass(frozen=True)
class TeamQueue:
    """What every waiting visitor of one team shares: hours, free capacity, handling time."""

    team: Team | None
    in_hours: bool
    slots: int
    handling_seconds: float
    next_opening: dt.datetime | None
    range_factors: tuple[float, float] = DEFAULT_RANGE_FACTORS
    hours_text: str = ""

    @classmethod
    def now(cls, *, team: Team | None) -> "TeamQueue":
        now = business_now()
        hours = team_with_hours(team) if team else None  # static: cached per process (agents.hours)
        in_hours = team_is_open(team=hours, at=now) if hours else True
        slots = agents_online(team=team).aggregate(slots=Sum("max_concurrent"))["slots"] or 0
        is_open = in_hours and slots > 0
        return cls(
            team=team,
            in_hours=in_hours,
            slots=slots,
            handling_seconds=median_handling_seconds(team=team) if is_open else DEFAULT_HANDLING_SECONDS,
            next_opening=team_next_opening(team=hours, at=now) if hours and not in_hours else None,
            range_factors=wait_range_factors(team=team) if is_open else DEFAULT_RANGE_FACTORS,
            hours_text=team_hours_text(team=hours) if hours else "",
        )

    def info(self, *, position: int | None, waited_seconds: float = 0) -> WaitInfo:
        is_open = self.in_hours and self.slots > 0
        estimate = math.ceil(position * self.handling_seconds / self.slots) if is_open and position else None
        low, high = self.range_factors
        ask_in = None
        if not is_open and self.in_hours:  # nobody online yet: someone may come soon, ask later
            ask_in = max(0, math.ceil(settings.HANDOFF_EMAIL_ASK_AFTER_SECONDS - waited_seconds))
        return WaitInfo(
            team=self.team.name if self.team else "Support",
            open=is_open,
            position=position,
            in_hours=self.in_hours,
            estimated_wait_seconds=estimate,
            # Whole minutes, as the visitor reads them: what we measure is what they were told.
            wait_low_seconds=math.floor(estimate * low / 60) * 60 if estimate is not None else None,
            wait_high_seconds=max(60, math.ceil(estimate * high / 60) * 60) if estimate is not None else None,
            hours=self.hours_text,
            next_opening=self.next_opening.isoformat() if self.next_opening else None,
            reopens=_when(self.next_opening) if self.next_opening else "",
            out_of_hours_message=self.team.out_of_hours_message if self.team else "",
            ask_email=not self.in_hours or ask_in == 0,
            ask_email_in_seconds=ask_in or None,
        )


def _when(opening: dt.datetime) -> str:
    """'today at 08:00', 'tomorrow at 08:00', 'Monday at 08:00' or '3 March at 08:00', in the team's
    time zone (the one its hours are written in)."""
    today = business_now().astimezone(opening.tzinfo).date()
    days = (opening.date() - today).days
    day = {0: "today", 1: "tomorrow"}.get(days) or (f"{opening:%A}" if days < 7 else f"{opening.day} {opening:%B}")
    return f"{day} at {opening:%H:%M}"


def queued_in_order(*, team_id: int | None) -> list[Handoff]:
    """The team's waiting handoffs in the order they will be served (routing's order)."""
    return list(
        Handoff.objects.filter(status=Handoff.Status.QUEUED, team_id=team_id)
        .select_related("conversation", "team")
        .order_by("-priority", "requested_at", "id")
    )


def queued_last(*, handoff_id: int, team_id: int | None) -> bool:
    """Whether this handoff still waits and nobody waits behind it in its team's queue (one query):
    then its joining moved nobody else's place in line."""
    behind = Handoff.objects.filter(status=Handoff.Status.QUEUED).filter(
        Q(priority__lt=OuterRef("priority"))
        | Q(priority=OuterRef("priority"), requested_at__gt=OuterRef("requested_at"))
        | Q(priority=OuterRef("priority"), requested_at=OuterRef("requested_at"), pk__gt=OuterRef("pk"))
    )
    behind = behind.filter(team_id=team_id) if team_id is not None else behind.filter(team__isnull=True)
    return Handoff.objects.filter(pk=handoff_id, status=Handoff.Status.QUEUED).filter(~Exists(behind)).exists()


def wait_info(*, handoff: Handoff) -> WaitInfo:
    return TeamQueue.now(team=handoff.team).info(position=_position(handoff), waited_seconds=waited_seconds(handoff))


def _position(handoff: Handoff) -> int | None:
    return queue_position(handoff=handoff) if handoff.status == Handoff.Status.QUEUED else None


def waited_seconds(handoff: Handoff) -> float:
    return (timezone.now() - handoff.requested_at).total_seconds() if handoff.requested_at else 0.0


def wait_text(info: WaitInfo) -> str:
    """The sentence the visitor reads when their conversation is queued: the true one of three.

    Outside the team's hours: when it opens next. In hours with nobody online: someone will come as
    soon as possible (no estimate: there is nobody whose pace to measure). Otherwise the estimate.
    """
    if not info.in_hours:
        back = f" We're back {info.reopens}." if info.reopens else (f" Our hours: {info.hours}." if info.hours else "")
        return f"{info.out_of_hours_message or 'We are closed right now.'}{back}"
    if not info.open:
        return (
            f"Everyone in {info.team} is busy or away at the moment; someone will be with you as soon as "
            f"possible. You are number {info.position or 1} in the queue."
        )
    minutes = _minutes(info.estimated_wait_seconds)
    return (
        f"Connecting you to a person from {info.team}. You are number {info.position} in the queue; "
        f"the estimated wait is about {minutes} minute{'s' if minutes != 1 else ''}{_range_text(info)}."
    )


def wait_status_text(info: WaitInfo) -> str:
    """The widget's one-line status while queued; the full sentence (wait_text) is in the chat once."""
    if not info.in_hours:
        return f"Closed now · back {info.reopens}" if info.reopens else "Closed now"
    if not info.open:
        return f"Waiting for a person · number {info.position or 1} in the queue"
    return f"Number {info.position} in the queue · about {_minutes(info.estimated_wait_seconds)} min"


def _minutes(seconds: int | None) -> int:
    return max(1, round((seconds or 0) / 60))


def _range_text(info: WaitInfo) -> str:
    """ " (between 2 and 9 minutes)": the range we promise (whole minutes, see TeamQueue.info)."""
    if info.wait_low_seconds is None or info.wait_high_seconds is None:
        return ""
    low, high = info.wait_low_seconds // 60, info.wait_high_seconds // 60
    return f" (between {low} and {high} minutes)" if low else f" (at most {high} minutes)"
