"""Every number on the report page, defined once, computed in PostgreSQL.

The period is a half-open interval [start, end). Two populations are counted in it:

* conversations *started* in the period (outcome cohorts, rates, CSAT, time to resolution);
* handoffs *requested* in the period (waits, first response, handling time, triggers, promises,
  agents and teams).

A team filter keeps the conversations whose latest handoff went to the team (a conversation the bot
handled alone has no team, so it is only counted without a filter) and the handoffs of that team.

Outcome cohorts: every conversation started in the period is in exactly one, tested in this order:

1. reopened: it was resolved, and the visitor wrote again within REPORTS_REOPEN_DAYS of the first
   resolution (a HandoffEvent "reopen").
2. bot then human: a person resolved it (one of its handoffs ended "resolved") and the bot had
   answered before that handoff was requested (Handoff.bot_answered_before).
3. human only: a person resolved it, the bot had not answered before.
4. bot only: it was resolved without a person (the visitor's "End chat", idle auto-resolve, an
   agent closing it from the bot), the bot had answered, its last answer was not a decline and no
   answer got a thumbs-down. This is containment: a declined or disliked conversation is not a success.
5. in progress: not resolved, and active within the last REPORTS_ABANDONED_AFTER_MINUTES.
6. abandoned: everything else: the visitor left without a resolution. Why, in this order: after the
   email ask (a handoff nobody took, on which the visitor was asked for an email), while queued (a
   handoff nobody took), after a decline (the bot's last answer), after a thumbs-down, or left (the
   bot's answer may have been enough, nothing says so).

Rates (the denominator is the finished conversations: all started minus those in progress):
automation = bot only / finished; abandonment = abandoned / finished; abandonment while queued =
abandoned while queued or after the email ask / conversations handed off; reopen rate = reopened /
(resolved ones: bot only + bot then human + human only + reopened); handoff rate by trigger =
handoffs requested by that rule / conversations started.

Times (p50 and p90 by percentile_cont; an unfinished interval is left out):
wait for a person = first assignment - request; first human response = the assigned agent's first
reply - request (what the visitor waited for a person's words); human handling = resolution - first
assignment (the person's part only, never the bot's or the queue's); time to resolution = first
resolution - conversation start (bot time included: the visitor's whole wait for an outcome).

CSAT: the mean 1-5 score; response rate = conversations rated / conversations asked (asked at every
resolution), bot ratings and people's ratings kept apart.

What these rules read of each conversation (its first resolution and reopen, its handoffs' outcome,
the bot's latest answer, its latest ratings) is kept on the conversation when it happens and defined
from the rows in reports/facts.py, so a period is one pass over its conversations and handoffs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Sum,
    TextChoices,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Abs, Cast, ExtractHour
from django.utils import timezone

from agents.models import Agent, Team
from chat.models import NEGATIVE_FEEDBACK_VALUES, Conversation, Message
from handoff.models import Handoff
from handoff.stats import PercentileCont, Seconds
from triggers.models import TriggerFiring


class Cohort(TextChoices):
    BOT_ONLY = "bot_only", "Bot only, resolved"
    BOT_THEN_HUMAN = "bot_then_human", "Bot, then a person, resolved"
    HUMAN_ONLY = "human_only", "A person only, resolved"
    REOPENED = "reopened", "Reopened"
    ABANDONED = "abandoned", "Abandoned"
    IN_PROGRESS = "in_progress", "In progress"


class AbandonReason(TextChoices):
    AFTER_EMAIL_ASK = "after_email_ask", "After the email ask"
    WHILE_QUEUED = "while_queued", "While queued"
    AFTER_DECLINE = "after_decline", "After the bot declined"
    AFTER_THUMBS_DOWN = "after_thumbs_down", "After a thumbs-down"
    LEFT = "left", "Left without a resolution"


RESOLVED_COHORTS = (Cohort.BOT_ONLY, Cohort.BOT_THEN_HUMAN, Cohort.HUMAN_ONLY, Cohort.REOPENED)


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime
    team: Team | None = None

    @classmethod
    def last(cls, days: int, *, now: dt.datetime | None = None, team: Team | None = None) -> Period:
        end = now or timezone.now()
        return cls(start=end - dt.timedelta(days=days), end=end, team=team)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def previous(self) -> Period:
        """The period of the same length just before this one (the comparison)."""
        return Period(start=self.start - (self.end - self.start), end=self.start, team=self.team)


def ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


# --- Conversations and their cohorts -------------------------------------------------------------

# One pass over the period's conversations: each row carries its outcome inputs (kept at write time,
# rebuilt from the rows by reports/facts.py; see chat.models.Conversation), so no message, event,
# handoff or rating is read, except the few thumbs-downs (from their own partial index: a visitor can
# take one back, so it is not kept on the conversation). The CASEs are the module docstring's rules.
_COHORT_SQL = """
WITH thumbs AS (SELECT conversation_id FROM {message} WHERE {thumbs_down}),  -- hashed once, probed by the CASEs
per AS (  -- which: 0 for the period, 1 for the one before it (the comparison)
    SELECT c.id, CASE WHEN c.created_at >= %(start)s THEN 0 ELSE 1 END AS which, c.created_at,
        c.first_resolved_at, c.csat_bot AS bot_score, c.csat_human AS human_score,
        CASE
            WHEN c.first_resolved_at IS NOT NULL AND c.first_reopened_at < c.first_resolved_at + %(reopen)s
                THEN 'reopened'
            WHEN c.handoff_resolved AND c.handoff_resolved_after_bot THEN 'bot_then_human'
            WHEN c.handoff_resolved THEN 'human_only'
            WHEN c.first_resolved_at IS NOT NULL AND c.bot_answered AND NOT c.bot_last_declined
                 AND c.id NOT IN (SELECT conversation_id FROM thumbs)
                THEN 'bot_only'
            WHEN c.status <> 'resolved' AND c.last_activity_at >= %(idle_since)s THEN 'in_progress'
            ELSE 'abandoned'
        END AS cohort,
        CASE
            WHEN c.handoff_unserved_email_ask THEN 'after_email_ask'
            WHEN c.handoff_unserved THEN 'while_queued'
            WHEN c.bot_last_declined THEN 'after_decline'
            WHEN c.id IN (SELECT conversation_id FROM thumbs) THEN 'after_thumbs_down'
            ELSE 'left'
        END AS abandon_reason
    FROM {conversation} AS c
    WHERE c.created_at >= %(since)s AND c.created_at < %(end)s {team_filter}
)
"""

# chat.models.THUMBS_DOWN as its partial index (message_thumbs_down) spells it, so the planner reads
# that index: the values are the code's constants, not input.
_THUMBS_DOWN_SQL = "(\"metadata\" -> 'feedback') IN ({values}) AND \"sender\" = 'bot'".format(
    values=", ".join(f"'{json.dumps(value)}'::jsonb" for value in NEGATIVE_FEEDBACK_VALUES)
)


def _cohort_query(*, period: Period, now: dt.datetime | None, select: str, previous: bool = False) -> tuple[str, dict]:
    """The cohort SQL for the period (and, with `previous`, the period before it in the same pass)."""
    now = now or timezone.now()
    params = {
        "since": period.previous().start if previous else period.start,
        "start": period.start,
        "end": period.end,
        "team": period.team.pk if period.team is not None else None,
        "reopen": dt.timedelta(days=settings.REPORTS_REOPEN_DAYS),
        "idle_since": now - dt.timedelta(minutes=settings.REPORTS_ABANDONED_AFTER_MINUTES),
        "zone": timezone.get_current_timezone_name(),
    }
    return _format(_COHORT_SQL, period) + select, params


def _format(sql: str, period: Period) -> str:
    return sql.format(
        conversation=connection.ops.quote_name(Conversation._meta.db_table),
        message=connection.ops.quote_name(Message._meta.db_table),
        thumbs_down=_THUMBS_DOWN_SQL,
        team_filter="AND c.team_id = %(team)s" if period.team is not None else "",
    )


def _fetch(sql: str, params: dict) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def conversation_cohorts(*, period: Period, now: dt.datetime | None = None) -> dict[int, tuple[str, str]]:
    """Each conversation started in the period: (cohort, abandon reason)."""
    sql, params = _cohort_query(period=period, now=now, select="SELECT id, cohort, abandon_reason FROM per")
    return {row["id"]: (row["cohort"], row["abandon_reason"]) for row in _fetch(sql, params)}


# Per day, cohort and reason (counts and sums only: hashed, no sort).
_GROUPED = """
SELECT which, (created_at AT TIME ZONE %(zone)s)::date AS day, cohort, abandon_reason,
       count(*) AS n, count(bot_score) AS bot_n, sum(bot_score) AS bot_sum,
       count(human_score) AS human_n, sum(human_score) AS human_sum
FROM per
GROUP BY 1, 2, 3, 4
"""

# Time to resolution (conversation start to first resolution, bot time included) needs no cohort:
# the period's resolved conversations, one sort for both fractions. The period's only: the
# comparison with the previous period shows no resolution times.
_RESOLUTION = """
SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM first_resolved_at - created_at))
FROM {conversation} AS c
WHERE c.created_at >= %(start)s AND c.created_at < %(end)s {team_filter} AND c.first_resolved_at IS NOT NULL
"""


@dataclass(frozen=True)
class CohortRow:
    cohort: str
    label: str
    conversations: int
    share: float | None  # of the finished conversations (in progress: of all)
    csat: float | None  # the score that cohort was asked for: the bot's for bot only, a person's otherwise
    csat_responses: int
    csat_response_rate: float | None


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    conversations: int
    bot_only: int
    finished: int
    automation_rate: float | None


@dataclass
class Outcomes:
    conversations: int = 0
    finished: int = 0
    by_cohort: dict[str, int] = field(default_factory=dict)
    abandoned_by_reason: dict[str, int] = field(default_factory=dict)
    cohorts: list[CohortRow] = field(default_factory=list)
    by_day: list[DayRow] = field(default_factory=list)
    csat_bot: float | None = None
    csat_bot_responses: int = 0
    csat_human: float | None = None
    csat_human_responses: int = 0
    automation_rate: float | None = None
    abandonment_rate: float | None = None
    reopen_rate: float | None = None
    resolution_p50: float | None = None  # seconds, conversation start to first resolution
    resolution_p90: float | None = None


def outcomes(*, period: Period, now: dt.datetime | None = None) -> Outcomes:
    """Cohorts, the rates built on them, CSAT per cohort and the daily series."""
    return _outcomes_by_which(period=period, now=now, previous=False)[0]


def outcomes_with_previous(*, period: Period, now: dt.datetime | None = None) -> tuple[Outcomes, Outcomes]:
    """The period's outcomes and the previous period's, read in the same pass over the conversations
    (the previous period's without the time-to-resolution percentiles: the comparison shows none)."""
    by_which = _outcomes_by_which(period=period, now=now, previous=True)
    return by_which[0], by_which[1]


def _outcomes_by_which(*, period: Period, now: dt.datetime | None, previous: bool) -> dict[int, Outcomes]:
    sql, params = _cohort_query(period=period, now=now, select=_GROUPED, previous=previous)
    rows = _fetch(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(_format(_RESOLUTION, period), params)
        (resolution,) = cursor.fetchone()
    return {
        which: _outcomes([row for row in rows if row["which"] == which], resolution if which == 0 else None)
        for which in ((0, 1) if previous else (0,))
    }


def _outcomes(rows: list[dict], resolution: list[float] | None) -> Outcomes:
    result = Outcomes()
    if resolution is not None:
        result.resolution_p50, result.resolution_p90 = resolution
    by_cohort = dict.fromkeys(Cohort.values, 0)
    reasons = dict.fromkeys(AbandonReason.values, 0)
    scores = {cohort: [0, 0, 0, 0] for cohort in Cohort.values}  # bot n, bot sum, human n, human sum
    days: dict[dt.date, list[int]] = {}
    for row in rows:
        cohort = row["cohort"]
        by_cohort[cohort] += row["n"]
        if cohort == Cohort.ABANDONED:
            reasons[row["abandon_reason"]] += row["n"]
        for i, key in enumerate(("bot_n", "bot_sum", "human_n", "human_sum")):
            scores[cohort][i] += row[key] or 0
        day = days.setdefault(row["day"], [0, 0, 0])  # all, bot only, finished
        day[0] += row["n"]
        day[1] += row["n"] if cohort == Cohort.BOT_ONLY else 0
        day[2] += row["n"] if cohort != Cohort.IN_PROGRESS else 0

    result.conversations = sum(by_cohort.values())
    result.finished = result.conversations - by_cohort[Cohort.IN_PROGRESS]
    result.by_cohort, result.abandoned_by_reason = by_cohort, reasons
    resolved = sum(by_cohort[c] for c in RESOLVED_COHORTS)
    result.automation_rate = ratio(by_cohort[Cohort.BOT_ONLY], result.finished)
    result.abandonment_rate = ratio(by_cohort[Cohort.ABANDONED], result.finished)
    result.reopen_rate = ratio(by_cohort[Cohort.REOPENED], resolved)

    bot_n, bot_sum = sum(s[0] for s in scores.values()), sum(s[1] for s in scores.values())
    human_n, human_sum = sum(s[2] for s in scores.values()), sum(s[3] for s in scores.values())
    result.csat_bot, result.csat_bot_responses = _mean(bot_sum, bot_n), bot_n
    result.csat_human, result.csat_human_responses = _mean(human_sum, human_n), human_n
    for cohort in Cohort:
        n = by_cohort[cohort]
        b_n, b_sum, h_n, h_sum = scores[cohort]
        # Bot-only conversations are asked about the bot, the others about the person who helped.
        responses, total = (b_n, b_sum) if cohort == Cohort.BOT_ONLY else (h_n, h_sum)
        result.cohorts.append(
            CohortRow(
                cohort=cohort.value,
                label=cohort.label,
                conversations=n,
                share=ratio(n, result.conversations if cohort == Cohort.IN_PROGRESS else result.finished),
                csat=_mean(total, responses),
                csat_responses=responses,
                csat_response_rate=ratio(responses, n) if cohort in RESOLVED_COHORTS else None,
            )
        )
    result.by_day = [
        DayRow(day=day, conversations=a, bot_only=b, finished=f, automation_rate=ratio(b, f))
        for day, (a, b, f) in sorted(days.items())
    ]
    return result


def _mean(total: float, n: int) -> float | None:
    return round(total / n, 2) if n else None


# --- Handoffs: times, triggers, promises, people --------------------------------------------------

# Handoff.wait_seconds and the others are these intervals' seconds, kept by PostgreSQL (percentiles
# sort them); means are taken over the exact intervals, as they always were.
WAIT, FIRST_RESPONSE, HANDLING = F("wait_seconds"), F("first_response_seconds"), F("handling_seconds")
HANDLING_EXACT = Seconds(F("ended_at") - F("first_assigned_at"))


def handoffs_in(*, period: Period) -> QuerySet[Handoff]:
    queryset = Handoff.objects.filter(requested_at__gte=period.start, requested_at__lt=period.end)
    return queryset.filter(team=period.team) if period.team is not None else queryset


def _percentiles(name: str, expression, **extra) -> dict:
    """p50 and p90 of the expression from one sort, as {name: [p50, p90]} (`_p50_p90` splits it)."""
    return {name: PercentileCont(expression, fractions=(0.5, 0.9), **extra)}


def _p50_p90(row: dict, *names: str) -> dict:
    for name in names:
        row[f"{name}_p50"], row[f"{name}_p90"] = row.pop(name) or (None, None)  # None: nothing measured
    return row


RESOLVED_BY_PERSON = Q(status=Handoff.Status.RESOLVED, first_assigned_at__isnull=False)


@dataclass(frozen=True)
class Times:
    handoffs: int
    wait_p50: float | None
    wait_p90: float | None
    first_response_p50: float | None
    first_response_p90: float | None
    handling_p50: float | None
    handling_p90: float | None
    handling_mean: float | None  # for ROI: totals come from means, not medians


def times(*, period: Period) -> Times:
    """Over the handoffs requested in the period (time to resolution is per conversation: `outcomes`)."""
    handoffs = handoffs_in(period=period).aggregate(
        handoffs=Count("id"),
        **_percentiles("wait", WAIT),
        **_percentiles("first_response", FIRST_RESPONSE),
        **_percentiles("handling", HANDLING, filter=RESOLVED_BY_PERSON),
        handling_mean=Avg(HANDLING_EXACT, filter=RESOLVED_BY_PERSON),
    )
    return Times(**_p50_p90(handoffs, "wait", "first_response", "handling"))


@dataclass(frozen=True)
class HourRow:
    hour: int
    handoffs: int
    wait_p50: float | None
    wait_p90: float | None


def waits_by_hour(*, period: Period) -> list[HourRow]:
    """Wait percentiles by the hour of day the visitor asked (in TIME_ZONE), all 24 hours."""
    rows = {
        row["hour"]: _p50_p90(row, "wait")
        for row in handoffs_in(period=period)
        .annotate(hour=ExtractHour("requested_at"))
        .values("hour")
        .annotate(handoffs=Count("id"), **_percentiles("wait", WAIT))
    }
    empty = {"handoffs": 0, "wait_p50": None, "wait_p90": None}
    return [
        HourRow(hour=hour, **{k: rows.get(hour, empty)[k] for k in ("handoffs", "wait_p50", "wait_p90")})
        for hour in range(24)
    ]


@dataclass(frozen=True)
class TriggerRow:
    """One rule (or "the visitor asked", "an agent took over"): how often, and was it right."""

    key: str
    label: str
    rule_id: int | None
    firings: int
    handoffs: int
    handoff_rate: float | None  # handoffs / conversations started in the period
    labelled: int
    needed: int
    bot_could_answer: int
    too_late: int
    precision: float | None  # (needed + too late) / labelled: the handoff itself was right
    csat: float | None
    csat_responses: int


def triggers(*, period: Period, conversations: int) -> list[TriggerRow]:
    """Per rule: firings (the log), handoffs it decided, the agents' verdicts on them, and CSAT.

    Handoffs no rule decided are grouped by who asked (the visitor, an agent taking over).
    """
    firings = TriggerFiring.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    if period.team is not None:
        firings = firings.filter(conversation__team=period.team)
    fired = {
        row["rule_id"]: row
        for row in firings.filter(rule__isnull=False).values("rule_id").annotate(n=Count("id"), name=Max("rule_name"))
    }
    verdict = Handoff.Verdict
    handoffs = (
        handoffs_in(period=period)
        .annotate(
            rule_id=Cast(KT("trigger__rule_id"), IntegerField()),
            rule_name=KT("trigger__rule_name"),
            by_source=Case(When(rule_id__isnull=True, then=F("source")), default=Value(""), output_field=CharField()),
        )
        .values("rule_id", "by_source")
        .annotate(
            n=Count("id"),
            name=Max("rule_name"),
            labelled=Count("id", filter=~Q(verdict="")),
            needed=Count("id", filter=Q(verdict=verdict.NEEDED)),
            bot_could_answer=Count("id", filter=Q(verdict=verdict.BOT_COULD_ANSWER)),
            too_late=Count("id", filter=Q(verdict=verdict.TOO_LATE)),
            csat_n=Count("csat_score"),
            csat_sum=Sum("csat_score"),
        )
    )
    rows = []
    for row in handoffs:
        rule_id = row["rule_id"]
        firing = fired.pop(rule_id, {}) if rule_id is not None else {}
        if rule_id is None:
            key, label = f"source:{row['by_source']}", Handoff.Source(row["by_source"]).label
        else:
            key, label = f"rule:{rule_id}", firing.get("name") or row["name"] or f"Rule {rule_id}"
        rows.append(
            TriggerRow(
                key=key,
                label=label,
                rule_id=rule_id,
                firings=firing.get("n", 0),
                handoffs=row["n"],
                handoff_rate=ratio(row["n"], conversations),
                labelled=row["labelled"],
                needed=row["needed"],
                bot_could_answer=row["bot_could_answer"],
                too_late=row["too_late"],
                precision=ratio(row["needed"] + row["too_late"], row["labelled"]),
                csat=_mean(row["csat_sum"] or 0, row["csat_n"]),
                csat_responses=row["csat_n"],
            )
        )
    for rule_id, firing in fired.items():  # rules that fired without deciding a handoff (tags, alerts)
        rows.append(
            TriggerRow(
                key=f"rule:{rule_id}",
                label=firing["name"],
                rule_id=rule_id,
                firings=firing["n"],
                handoffs=0,
                handoff_rate=ratio(0, conversations),
                labelled=0,
                needed=0,
                bot_could_answer=0,
                too_late=0,
                precision=None,
                csat=None,
                csat_responses=0,
            )
        )
    return sorted(rows, key=lambda r: (-r.handoffs, -r.firings, r.label))


@dataclass(frozen=True)
class PromiseRow:
    """How well the wait we promised matched the real one, for one team (or all: team None)."""

    team: str
    promised: int  # handoffs with an estimate that a person then took
    mean_absolute_error: float | None  # seconds
    inside_range: int
    inside_share: float | None
    unserved: int  # promised, but nobody took it (the real wait is unknown: left out of the error)
    email_asked: int  # nobody could answer: no wait promised, the visitor was asked for an email


PROMISE_TARGET = 0.8  # the share of real waits inside the promised range we aim for


def wait_promises(*, period: Period) -> list[PromiseRow]:
    """Per team, then all teams: mean absolute error of the estimate and the share inside the range."""
    real = Seconds(F("first_assigned_at") - F("requested_at"))
    served = Q(wait_estimate_seconds__isnull=False, first_assigned_at__isnull=False)
    aggregates = {
        "promised": Count("id", filter=served),
        "mean_absolute_error": Avg(Abs(real - F("wait_estimate_seconds")), filter=served),
        "inside_range": Count("id", filter=served & Q(wait_low_seconds__lte=real, wait_high_seconds__gte=real)),
        "unserved": Count("id", filter=Q(wait_estimate_seconds__isnull=False, first_assigned_at__isnull=True)),
        "email_asked": Count("id", filter=Q(email_asked=True)),
    }
    handoffs = handoffs_in(period=period)
    rows = [
        {"team": row.pop("team__name") or "(no team)", **row}
        for row in handoffs.values("team__name").annotate(**aggregates).order_by("team__name")
    ]
    rows.append({"team": "All teams", **handoffs.aggregate(**aggregates)})
    return [
        PromiseRow(
            team=row["team"],
            promised=row["promised"],
            mean_absolute_error=row["mean_absolute_error"],
            inside_range=row["inside_range"],
            inside_share=ratio(row["inside_range"], row["promised"]),
            unserved=row["unserved"],
            email_asked=row["email_asked"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class PeopleRow:
    """One agent or one team: what they handled and how it went."""

    key: int | None
    name: str
    handoffs: int
    resolved: int
    first_response_p50: float | None
    handling_p50: float | None
    csat: float | None
    csat_responses: int
    reopened: int
    reopen_rate: float | None  # reopened within REPORTS_REOPEN_DAYS / resolved by them


def _people(*, period: Period, by: str, names: Callable[[list[int]], dict[int, str]]) -> list[PeopleRow]:
    """Grouped by `by` (agent_id or team_id); `names` names the groups afterwards (a join would carry
    the names through the sort of every handoff)."""
    # Handoff.reopened_at is the first reopen at or after it ended (kept by handoff.services).
    reopened_in_window = Q(reopened_at__lt=F("ended_at") + dt.timedelta(days=settings.REPORTS_REOPEN_DAYS))
    rows = list(
        handoffs_in(period=period)
        .values(by)
        .annotate(
            handoffs=Count("id"),
            resolved=Count("id", filter=RESOLVED_BY_PERSON),
            first_response_p50=PercentileCont(FIRST_RESPONSE, fraction=0.5),
            handling_p50=PercentileCont(HANDLING, fraction=0.5, filter=RESOLVED_BY_PERSON),
            csat_n=Count("csat_score"),
            csat_sum=Sum("csat_score"),
            reopened=Count("id", filter=RESOLVED_BY_PERSON & reopened_in_window),
        )
        .order_by("-handoffs")
    )
    named = names([row[by] for row in rows if row[by] is not None])
    return [
        PeopleRow(
            key=row[by],
            name=named.get(row[by]) or "(nobody)",
            handoffs=row["handoffs"],
            resolved=row["resolved"],
            first_response_p50=row["first_response_p50"],
            handling_p50=row["handling_p50"],
            csat=_mean(row["csat_sum"] or 0, row["csat_n"]),
            csat_responses=row["csat_n"],
            reopened=row["reopened"],
            reopen_rate=ratio(row["reopened"], row["resolved"]),
        )
        for row in rows
    ]


def per_agent(*, period: Period) -> list[PeopleRow]:
    """By the agent who had the handoff last (the one who resolved it, after a transfer)."""

    def names(ids: list[int]) -> dict[int, str]:
        agents = Agent.objects.filter(pk__in=ids).select_related("user")
        return {agent.pk: agent.display_name or agent.user.username for agent in agents}

    return _people(period=period, by="agent_id", names=names)


def per_team(*, period: Period) -> list[PeopleRow]:
    return _people(
        period=period, by="team_id", names=lambda ids: dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
    )
