"""The whole report for a period: what the page, the CSV export and the JSON endpoint show."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from reports import metrics
from reports.metrics import Period
from reports.roi import Roi, RoiInputs, roi_compute


@dataclass(frozen=True)
class Headline:
    """The numbers compared with the previous period."""

    conversations: int
    automation_rate: float | None
    abandonment_rate: float | None
    reopen_rate: float | None
    handoffs: int
    wait_p50: float | None
    handling_p50: float | None
    csat_bot: float | None
    csat_human: float | None


@dataclass(frozen=True)
class Report:
    period: Period
    headline: Headline
    previous: Headline | None
    outcomes: metrics.Outcomes
    times: metrics.Times
    waits_by_hour: list[metrics.HourRow]
    triggers: list[metrics.TriggerRow]
    promises: list[metrics.PromiseRow]
    agents: list[metrics.PeopleRow]
    teams: list[metrics.PeopleRow]
    roi: Roi


def _headline(outcomes: metrics.Outcomes, times: metrics.Times) -> Headline:
    return Headline(
        conversations=outcomes.conversations,
        automation_rate=outcomes.automation_rate,
        abandonment_rate=outcomes.abandonment_rate,
        reopen_rate=outcomes.reopen_rate,
        handoffs=times.handoffs,
        wait_p50=times.wait_p50,
        handling_p50=times.handling_p50,
        csat_bot=outcomes.csat_bot,
        csat_human=outcomes.csat_human,
    )


def report_build(
    *, period: Period, roi_inputs: RoiInputs | None = None, compare: bool = True, now: dt.datetime | None = None
) -> Report:
    with transaction.atomic(), connection.cursor() as cursor:
        # Its queries hash and sort whole periods (100k conversations): with the default 4 MB they
        # spill to disk and PostgreSQL plans sorts instead of hashes. For this transaction only.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        return _report(period=period, roi_inputs=roi_inputs, compare=compare, now=now or timezone.now())


def _report(*, period: Period, roi_inputs: RoiInputs | None, compare: bool, now: dt.datetime) -> Report:
    times = metrics.times(period=period)
    previous = None
    if compare:
        outcomes, outcomes_before = metrics.outcomes_with_previous(period=period, now=now)
        previous = _headline(outcomes_before, metrics.times(period=period.previous()))
    else:
        outcomes = metrics.outcomes(period=period, now=now)
    return Report(
        period=period,
        headline=_headline(outcomes, times),
        previous=previous,
        outcomes=outcomes,
        times=times,
        waits_by_hour=metrics.waits_by_hour(period=period),
        triggers=metrics.triggers(period=period, conversations=outcomes.conversations),
        promises=metrics.wait_promises(period=period),
        agents=metrics.per_agent(period=period),
        teams=metrics.per_team(period=period),
        roi=roi_compute(
            inputs=roi_inputs or RoiInputs(),
            bot_resolved=outcomes.by_cohort[metrics.Cohort.BOT_ONLY],
            automation_rate=outcomes.automation_rate,
            handling_mean_seconds=times.handling_mean,
            conversations=outcomes.conversations,
            period_days=period.days,
        ),
    )


def report_as_dict(report: Report) -> dict:
    """JSON-ready: dates as ISO strings, money as strings (no float rounding surprises)."""

    def plain(value):
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        if dataclasses.is_dataclass(value):
            return plain(dataclasses.asdict(value))
        if value is not None and not isinstance(value, bool | int | float | str):
            return str(value)  # Decimal, Team
        return value

    data = plain({f.name: getattr(report, f.name) for f in dataclasses.fields(report) if f.name != "period"})
    period = report.period
    data["period"] = {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "team": period.team.slug if period.team else None,
    }
    return data
