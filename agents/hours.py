"""Is a team open? Business hours are kept per weekday in the team's own time zone."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from agents.models import BusinessHours, Holiday, Team
from chat.db import ReadEvery

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def business_now() -> dt.datetime:
    """The moment business hours are judged at: now, or HANDOFF_FIXED_CLOCK when set."""
    return settings.HANDOFF_FIXED_CLOCK or timezone.now()


def _teams_with_hours() -> dict[int, Team]:
    return {team.pk: team for team in Team.objects.prefetch_related("business_hours", "holidays")}


# Every handoff request and every queue move reads the team's hours and holidays (three queries each
# time otherwise). An edit made in this process applies at once (teams_hours_changed), one made in
# another process within these seconds.
teams_hours = ReadEvery(_teams_with_hours, seconds=5.0)


def team_with_hours(team: Team) -> Team:
    """The team with its business hours and holidays prefetched (cached per process for a few seconds);
    the team itself, whose hours are then read from the database, if it is newer than the cache."""
    return teams_hours().get(team.pk, team)


def teams_hours_changed(**kwargs) -> None:
    """A team, its hours or its holidays changed: read them again, and once more after the commit
    (until then other threads may read the old rows)."""
    teams_hours.forget()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(teams_hours.forget)


def connect() -> None:
    for model in (Team, BusinessHours, Holiday):
        post_save.connect(teams_hours_changed, sender=model, dispatch_uid=f"teams-hours-saved-{model.__name__}")
        post_delete.connect(teams_hours_changed, sender=model, dispatch_uid=f"teams-hours-deleted-{model.__name__}")


def team_is_open(*, team: Team, at: dt.datetime) -> bool:
    local = at.astimezone(zoneinfo.ZoneInfo(team.time_zone))
    if any(holiday.date == local.date() for holiday in team.holidays.all()):
        return False
    return any(
        window.weekday == local.weekday() and window.opens_at <= local.time() < window.closes_at
        for window in team.business_hours.all()
    )


def team_next_opening(*, team: Team, at: dt.datetime, horizon_days: int = 14) -> dt.datetime | None:
    """The next moment the team opens (in the team's time zone), or None if it never does soon."""
    tz = zoneinfo.ZoneInfo(team.time_zone)
    local = at.astimezone(tz)
    holidays = {holiday.date for holiday in team.holidays.all()}
    windows = list(team.business_hours.all())
    for offset in range(horizon_days + 1):
        day = local.date() + dt.timedelta(days=offset)
        if day in holidays:
            continue
        for window in sorted((w for w in windows if w.weekday == day.weekday()), key=lambda w: w.opens_at):
            opening = dt.datetime.combine(day, window.opens_at, tzinfo=tz)
            if opening > local:
                return opening
    return None


def team_hours_text(*, team: Team) -> str:
    """'Mon-Fri 09:00-17:00 (Europe/London)', for visitors being told when the team is back."""
    by_hours: dict[tuple[dt.time, dt.time], list[int]] = {}
    for window in team.business_hours.all():
        by_hours.setdefault((window.opens_at, window.closes_at), []).append(window.weekday)
    parts = []
    for (opens, closes), days in sorted(by_hours.items(), key=lambda item: min(item[1])):
        days = sorted(set(days))
        consecutive = days == list(range(days[0], days[-1] + 1))
        label = (
            f"{WEEKDAY_NAMES[days[0]]}-{WEEKDAY_NAMES[days[-1]]}"
            if consecutive and len(days) > 1
            else ", ".join(WEEKDAY_NAMES[d] for d in days)
        )
        parts.append(f"{label} {opens:%H:%M}-{closes:%H:%M}")
    return f"{'; '.join(parts)} ({team.time_zone})" if parts else "no regular hours"
