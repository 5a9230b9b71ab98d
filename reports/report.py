"""The whole report for a period: what the page, the CSV export and the JSON endpoint show."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
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


def _part(read):
    """A part of the report: read from the database the first time it is used, then kept (so a
    table's CSV reads only what that table shows), in a transaction of its own whose queries may
    hash and sort a whole period (100k conversations) in memory: with the default 4 MB they spill
    to disk and PostgreSQL plans sorts instead of hashes."""

    @functools.wraps(read)
    def in_memory(report):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            return read(report)

    return functools.cached_property(in_memory)


class Report:
    """The whole report for a period: what the page, the CSV export and the JSON endpoint show."""

    PARTS = ("headline", "previous", "outcomes", "times", "waits_by_hour", "triggers", "promises", "agents",
             "teams", "roi")  # fmt: skip

    def __init__(self, *, period: Period, roi_inputs: RoiInputs, compare: bool, now: dt.datetime) -> None:
        self.period, self.roi_inputs, self.compare, self.now = period, roi_inputs, compare, now

    @_part
    def _outcomes(self) -> tuple[metrics.Outcomes, metrics.Outcomes | None]:
        if self.compare:  # both periods in the same pass over the conversations
            return metrics.outcomes_with_previous(period=self.period, now=self.now)
        return metrics.outcomes(period=self.period, now=self.now), None

    @property
    def outcomes(self) -> metrics.Outcomes:
        return self._outcomes[0]

    @_part
    def times(self) -> metrics.Times:
        return metrics.times(period=self.period)

    @property
    def headline(self) -> Headline:
        return _headline(self.outcomes, self.times)

    @_part
    def previous(self) -> Headline | None:
        before = self._outcomes[1]
        return _headline(before, metrics.times(period=self.period.previous())) if before is not None else None

    @_part
    def waits_by_hour(self) -> list[metrics.HourRow]:
        return metrics.waits_by_hour(period=self.period)

    @_part
    def triggers(self) -> list[metrics.TriggerRow]:
        return metrics.triggers(period=self.period, conversations=self.outcomes.conversations)

    @_part
    def promises(self) -> list[metrics.PromiseRow]:
        return metrics.wait_promises(period=self.period)

    @_part
    def agents(self) -> list[metrics.PeopleRow]:
        return metrics.per_agent(period=self.period)

    @_part
    def teams(self) -> list[metrics.PeopleRow]:
        return metrics.per_team(period=self.period)

    @property
    def roi(self) -> Roi:
        return roi_compute(
            inputs=self.roi_inputs,
            bot_resolved=self.outcomes.by_cohort[metrics.Cohort.BOT_ONLY],
            automation_rate=self.outcomes.automation_rate,
            handling_mean_seconds=self.times.handling_mean,
            conversations=self.outcomes.conversations,
            period_days=self.period.days,
        )


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
    """The report, read part by part as it is used (see `_part`)."""
    return Report(period=period, roi_inputs=roi_inputs or RoiInputs(), compare=compare, now=now or timezone.now())


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

    data = plain({name: getattr(report, name) for name in Report.PARTS})
    period = report.period
    data["period"] = {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "team": period.team.slug if period.team else None,
    }
    return data
