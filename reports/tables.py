"""The report's tables, defined once: the page shows them formatted, the CSV export writes their values."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode

from reports.durations import duration_text
from reports.metrics import PROMISE_TARGET, AbandonReason, Cohort
from reports.report import Report

DASH = "\N{EN DASH}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.1%}"


def score(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def plain(value: Any) -> str:
    return DASH if value is None else str(value)


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    show: Callable[[Any], str] = plain
    link: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    note: str
    columns: list[Column]
    source: Callable[[], list[Any]]  # called when the rows are first used: a CSV reads only its table

    @cached_property
    def rows(self) -> list[Any]:
        return self.source()

    def display_rows(self) -> list[list[tuple[str, str | None]]]:
        return [[(c.show(c.value(row)), c.link(row) if c.link else None) for c in self.columns] for row in self.rows]


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


def _durations(*names: tuple[str, str]) -> list[Column]:
    return [Column(header, _attr(name), duration_text) for name, header in names]


def _firings_link(row) -> str | None:
    if row.rule_id is None:
        return None
    return reverse("admin:triggers_triggerfiring_changelist") + "?" + urlencode({"rule__id__exact": row.rule_id})


def _handoffs_link(verdict: str | None = None):
    def link(row) -> str:
        query = {"trigger_rule": row.rule_id} if row.rule_id is not None else {"source": row.key.split(":", 1)[1]}
        if verdict is not None:
            query["verdict"] = verdict
        return reverse("admin:handoff_handoff_changelist") + "?" + urlencode(query)

    return link


def report_tables(report: Report) -> list[Table]:
    def reasons():
        return [(AbandonReason(key).label, n) for key, n in report.outcomes.abandoned_by_reason.items()]

    def times():
        times, outcomes = report.times, report.outcomes
        return [
            ("Wait for a person", times.wait_p50, times.wait_p90),
            ("First human response", times.first_response_p50, times.first_response_p90),
            ("Human handling time", times.handling_p50, times.handling_p90),
            ("Time to resolution", outcomes.resolution_p50, outcomes.resolution_p90),
        ]

    return [
        Table(
            "cohorts",
            "Outcomes",
            "Every conversation started in the period is in one cohort (definitions below). Share: of the finished "
            "conversations (in progress: of all). CSAT: the bot's score for bot only, a person's for the others; "
            "response rate: rated / in the cohort.",
            [
                Column("Cohort", _attr("label")),
                Column("Conversations", _attr("conversations")),
                Column("Share", _attr("share"), percent),
                Column("CSAT", _attr("csat"), score),
                Column("Ratings", _attr("csat_responses")),
                Column("Response rate", _attr("csat_response_rate"), percent),
            ],
            lambda: report.outcomes.cohorts,
        ),
        Table(
            "abandoned",
            "Why conversations were abandoned",
            "The first that applies: a handoff nobody took after the email ask, or while queued; the bot's last "
            "answer a decline; a thumbs-down; otherwise the visitor left.",
            [Column("Reason", lambda r: r[0]), Column("Conversations", lambda r: r[1])],
            reasons,
        ),
        Table(
            "times",
            "Times",
            "p50/p90 by percentile_cont over the handoffs requested in the period. Wait: request to first "
            "assignment. First response: request to the agent's first reply. Handling: first assignment to "
            "resolution (the person's part only). Resolution: conversation start to first resolution.",
            [
                Column("Measure", lambda r: r[0]),
                Column("p50", lambda r: r[1], duration_text),
                Column("p90", lambda r: r[2], duration_text),
            ],
            times,
        ),
        Table(
            "triggers",
            "Is each trigger right?",
            "Firings: the rule's log in the period. Handoffs: those it decided. Precision = (needed + too late) / "
            "labelled, from the agents' verdicts after resolving. Rate: handoffs / conversations started.",
            [
                Column("Trigger", _attr("label")),
                Column("Firings", _attr("firings"), link=_firings_link),
                Column("Handoffs", _attr("handoffs"), link=_handoffs_link()),
                Column("Handoff rate", _attr("handoff_rate"), percent),
                Column("Labelled", _attr("labelled")),
                Column("Needed", _attr("needed"), link=_handoffs_link("needed")),
                Column("Bot could answer", _attr("bot_could_answer"), link=_handoffs_link("bot_could_answer")),
                Column("Too late", _attr("too_late"), link=_handoffs_link("too_late")),
                Column("Precision", _attr("precision"), percent),
                Column("CSAT", _attr("csat"), score),
            ],
            lambda: report.triggers,
        ),
        Table(
            "promises",
            "Is the wait promise right?",
            f"Over handoffs a person took that had a promised wait: mean absolute error of the estimate, and how "
            f"often the real wait fell inside the range the visitor read (aim: {PROMISE_TARGET:.0%} or more). "
            "Unserved: promised, nobody came (left out of the error). Email asked: nobody could answer.",
            [
                Column("Team", _attr("team")),
                Column("Promised and served", _attr("promised")),
                Column("Mean absolute error", _attr("mean_absolute_error"), duration_text),
                Column("Inside the range", _attr("inside_range")),
                Column("Inside share", _attr("inside_share"), percent),
                Column("Unserved", _attr("unserved")),
                Column("Email asked", _attr("email_asked")),
            ],
            lambda: report.promises,
        ),
        _people_table("agents", "Per agent", "By the agent who had the handoff last.", lambda: report.agents),
        _people_table("teams", "Per team", "By the team the handoff was with.", lambda: report.teams),
        Table(
            "daily",
            "By day",
            "Conversations started each day; automation = bot only / finished.",
            [
                Column("Day", _attr("day")),
                Column("Conversations", _attr("conversations")),
                Column("Bot only", _attr("bot_only")),
                Column("Finished", _attr("finished")),
                Column("Automation", _attr("automation_rate"), percent),
            ],
            lambda: report.outcomes.by_day,
        ),
        Table(
            "hours",
            "Waits by hour of day",
            "Handoffs by the hour they were requested (server time zone).",
            [
                Column("Hour", _attr("hour"), lambda h: f"{h:02d}:00"),
                Column("Handoffs", _attr("handoffs")),
                *_durations(("wait_p50", "Wait p50"), ("wait_p90", "Wait p90")),
            ],
            lambda: report.waits_by_hour,
        ),
    ]


def _people_table(name: str, title: str, note: str, rows: Callable[[], list[Any]]) -> Table:
    return Table(
        name,
        title,
        note + " Reopen rate: resolved by them, reopened within the window / resolved by them.",
        [
            Column("Name", _attr("name")),
            Column("Handoffs", _attr("handoffs")),
            Column("Resolved", _attr("resolved")),
            *_durations(("first_response_p50", "First response p50"), ("handling_p50", "Handling p50")),
            Column("CSAT", _attr("csat"), score),
            Column("Ratings", _attr("csat_responses")),
            Column("Reopen rate", _attr("reopen_rate"), percent),
        ],
        rows,
    )


TABLE_NAMES = (
    "cohorts", "abandoned", "times", "triggers", "promises", "agents", "teams", "daily", "hours",
)  # fmt: skip


def table_csv(table: Table) -> str:
    """The table's raw values (seconds, ratios), a cell a spreadsheet would run as a formula quoted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([_cell(c.value(row)) for c in table.columns])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# Cohort labels with their definitions, for the page's "How each number is defined".
COHORT_DEFINITIONS = [
    (Cohort.REOPENED.label, "resolved, and the visitor wrote again within the reopen window of the first resolution"),
    (Cohort.BOT_THEN_HUMAN.label, "a person resolved it after the bot had answered"),
    (Cohort.HUMAN_ONLY.label, "a person resolved it; the bot had not answered before the handoff"),
    (
        Cohort.BOT_ONLY.label,
        "resolved without a person (End chat, idle auto-resolve), the bot answered, its last answer was not a "
        "decline and no answer got a thumbs-down: this is containment",
    ),
    (Cohort.IN_PROGRESS.label, "not resolved and active within the abandonment window; left out of the rates"),
    (Cohort.ABANDONED.label, "everything else: the visitor left without a resolution"),
]


@dataclass(frozen=True)
class Card:
    label: str
    now: str
    before: str | None
    change: str  # e.g. "+4.0 pts", "-2 min"; empty without a comparison
    better: bool | None  # None: no comparison or no change


_CARDS = [
    # label, attribute, how it reads, how a change reads, is higher better
    ("Conversations", "conversations", plain, lambda d: f"{d:+,}", None),
    ("Automation rate", "automation_rate", percent, lambda d: f"{d * 100:+.1f} pts", True),
    ("Abandonment", "abandonment_rate", percent, lambda d: f"{d * 100:+.1f} pts", False),
    ("Reopen rate", "reopen_rate", percent, lambda d: f"{d * 100:+.1f} pts", False),
    ("Handoffs", "handoffs", plain, lambda d: f"{d:+,}", None),
    ("Wait p50", "wait_p50", duration_text, lambda d: ("+" if d >= 0 else "-") + duration_text(abs(d)), False),
    ("Handling p50", "handling_p50", duration_text, lambda d: ("+" if d >= 0 else "-") + duration_text(abs(d)), None),
    ("CSAT: the assistant", "csat_bot", score, lambda d: f"{d:+.2f}", True),
    ("CSAT: people", "csat_human", score, lambda d: f"{d:+.2f}", True),
]


def headline_cards(report: Report) -> list[Card]:
    """The headline numbers with the previous period's and the change (None on either side: no change)."""
    cards = []
    for label, name, show, change, higher_is_better in _CARDS:
        now = getattr(report.headline, name)
        before = getattr(report.previous, name) if report.previous else None
        delta = now - before if now is not None and before is not None else None
        cards.append(
            Card(
                label=label,
                now=show(now),
                before=show(before) if report.previous else None,
                change=change(delta) if delta is not None else "",
                better=None if not delta or higher_is_better is None else (delta > 0) == higher_is_better,
            )
        )
    return cards
