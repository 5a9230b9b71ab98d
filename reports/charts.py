"""Charts drawn on the server as SVG: readable without JavaScript, nothing fetched, every label escaped.

Each chart is an <svg role="img"> with a <title> (its name) and a <desc> (what it shows in words), axis
labels and values written as text, so a screen reader, a printout and a browser without scripts all
read the same thing. The page's tables hold the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from reports.durations import duration_text

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 48, 28, 50  # the bottom holds the x labels and the legend


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css: str  # the colour class in the page's stylesheet


def nice_max(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at or above `value`."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _fmt(template: str, *args) -> SafeString:
    """format_html with coordinates: floats written with one decimal (format_html escapes to text first)."""
    return format_html(template.replace("{:.1f}", "{}"), *(f"{a:.1f}" if isinstance(a, float) else a for a in args))


def _svg(*, title: str, desc: str, body: SafeString, height: int = HEIGHT) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-t {id}-d" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>'
        '<text class="chart-title" x="{left}" y="16">{title}</text>{body}</svg>',
        w=WIDTH,
        h=height,
        id=_slug(title),
        title=title,
        desc=desc,
        left=LEFT,
        body=body,
    )


def _slug(text: str) -> str:
    return "chart-" + "".join(ch if ch.isalnum() else "-" for ch in text.lower())[:40]


def _y_axis(*, top: float, text: Callable[[float], str], right: bool = False, css: str = "") -> SafeString:
    plot = HEIGHT - TOP - BOTTOM
    x, anchor = (WIDTH - RIGHT + 6, "start") if right else (LEFT - 6, "end")
    ticks = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot - plot * i / 4
        line = (
            ""
            if right
            else format_html('<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>', LEFT, WIDTH - RIGHT, y, y)
        )
        ticks.append(
            format_html(
                '{}<text class="tick {}" x="{}" y="{}" text-anchor="{}">{}</text>',
                line,
                css,
                x,
                y + 4,
                anchor,
                text(value),
            )
        )
    return mark_safe("".join(ticks))  # noqa: S308 - each part built by format_html


def columns(
    *,
    title: str,
    labels: Sequence[str],
    bars: Series,
    bar_text: Callable[[float], str] = lambda v: f"{v:g}",
    line: Series | None = None,
    line_text: Callable[[float], str] = lambda v: f"{v:.0%}",
    line_top: float = 1.0,
    every: int = 1,
) -> SafeString:
    """Vertical bars (left axis), optionally with a line on its own axis (right), one per label."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_max(max((v or 0 for v in bars.values), default=0))
    step = plot_w / max(1, len(labels))
    parts = [_y_axis(top=top, text=bar_text)]
    for i, (label, value) in enumerate(zip(labels, bars.values, strict=True)):
        x = LEFT + i * step
        if value:
            h = plot_h * value / top
            parts.append(
                _fmt(
                    '<rect class="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}">'
                    "<title>{}: {}</title></rect>",
                    bars.css,
                    x + step * 0.1,
                    TOP + plot_h - h,
                    step * 0.8,
                    h,
                    label,
                    bar_text(value),
                )
            )
        if i % every == 0:
            parts.append(
                _fmt(
                    '<text class="tick" x="{:.1f}" y="{}" text-anchor="middle">{}</text>',
                    x + step / 2,
                    HEIGHT - BOTTOM + 16,
                    label,
                )
            )
    legend = [(bars.name, bars.css)]
    if line is not None:
        parts.append(_y_axis(top=line_top, text=line_text, right=True, css=line.css))
        points = [
            (LEFT + i * step + step / 2, TOP + plot_h - plot_h * min(value, line_top) / line_top)
            for i, value in enumerate(line.values)
            if value is not None
        ]
        parts.append(_polyline(points, line.css))
        legend.append((line.name, line.css))
    parts.append(_legend(legend))
    desc = f"{bars.name} per {len(labels)} points" + (f", with {line.name}" if line else "") + "."
    return _svg(title=title, desc=desc, body=mark_safe("".join(parts)))  # noqa: S308 - parts are format_html


def lines(
    *, title: str, labels: Sequence[str], series: Sequence[Series], value_text: Callable[[float], str], every: int = 1
) -> SafeString:
    """One line per series over the labels; gaps where a value is missing."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_max(max((v or 0 for s in series for v in s.values), default=0))
    step = plot_w / max(1, len(labels))
    parts = [_y_axis(top=top, text=value_text)]
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                _fmt(
                    '<text class="tick" x="{:.1f}" y="{}" text-anchor="middle">{}</text>',
                    LEFT + i * step + step / 2,
                    HEIGHT - BOTTOM + 16,
                    label,
                )
            )
    for s in series:
        points = [
            (LEFT + i * step + step / 2, TOP + plot_h - plot_h * value / top)
            for i, value in enumerate(s.values)
            if value is not None
        ]
        parts.append(_polyline(points, s.css))
        parts.extend(
            _fmt(
                '<circle class="{}" cx="{:.1f}" cy="{:.1f}" r="3"><title>{}: {}</title></circle>',
                s.css,
                x,
                y,
                s.name,
                value_text(top * (TOP + plot_h - y) / plot_h),
            )
            for x, y in points
        )
    parts.append(_legend([(s.name, s.css) for s in series]))
    return _svg(
        title=title,
        desc=", ".join(s.name for s in series) + f" over {len(labels)} points.",
        body=mark_safe("".join(parts)),  # noqa: S308 - parts are format_html
    )


def rows(
    *,
    title: str,
    bars: Sequence[tuple[str, float | None]],
    value_text: Callable[[float], str],
    top: float | None = None,
    css: str = "bar",
) -> SafeString:
    """Horizontal bars, one per (label, value), labels on the left and values at the bar's end."""
    row_h, label_w = 24, 220
    height = TOP + row_h * max(1, len(bars)) + 12
    top = top or nice_max(max((v or 0 for _, v in bars), default=0))
    plot_w = WIDTH - label_w - 80
    parts = []
    for i, (label, value) in enumerate(bars):
        y = TOP + i * row_h
        w = plot_w * (value or 0) / top
        parts.append(
            _fmt(
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="{}" x="{}" y="{}" width="{:.1f}" height="{}"/>'
                '<text class="value" x="{:.1f}" y="{}">{}</text>',
                label_w - 8,
                y + 16,
                _short(label),
                css,
                label_w,
                y + 4,
                w,
                row_h - 8,
                label_w + w + 6,
                y + 16,
                value_text(value) if value is not None else "no data",
            )
        )
    if not bars:
        parts.append(format_html('<text class="tick" x="{}" y="{}">Nothing in this period.</text>', label_w, TOP + 16))
    return _svg(
        title=title,
        desc=f"{len(bars)} bars: "
        + "; ".join(f"{label} {value_text(v) if v is not None else 'no data'}" for label, v in bars)[:500],
        body=mark_safe("".join(parts)),  # noqa: S308 - parts are format_html
        height=height,
    )


def _short(label: str, length: int = 32) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"


def _polyline(points: list[tuple[float, float]], css: str) -> SafeString:
    if not points:
        return SafeString("")
    coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return format_html('<polyline class="{}" fill="none" points="{}"/>', css, coordinates)


def _legend(entries: list[tuple[str, str]]) -> SafeString:
    return format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="10" height="10"/><text class="tick" x="{}" y="{}">{}</text>',
        (
            (css, LEFT + 170 * i, HEIGHT - 14, LEFT + 170 * i + 14, HEIGHT - 5, name)
            for i, (name, css) in enumerate(entries)
        ),
    )


def report_charts(report) -> dict[str, SafeString]:
    """The page's four charts, from a reports.report.Report."""
    days = report.outcomes.by_day
    every_day = max(1, len(days) // 10)  # at most about ten date labels under the axis
    cohorts = [row for row in report.outcomes.cohorts if row.csat_response_rate is not None]
    return {
        "volume": columns(
            title="Conversations and automation rate by day",
            labels=[day.day.strftime("%d %b") for day in days],
            bars=Series("Conversations", [day.conversations for day in days], "bar"),
            bar_text=lambda v: f"{v:,.0f}",
            line=Series("Automation rate", [day.automation_rate for day in days], "line-b"),
            every=every_day,
        ),
        "triggers": rows(
            title="Handoffs by trigger",
            bars=[(row.label, row.handoffs) for row in report.triggers if row.handoffs],
            value_text=lambda v: f"{v:,.0f}",
        ),
        "waits": lines(
            title="Wait for a person by hour of day (p50 and p90)",
            labels=[f"{row.hour:02d}" for row in report.waits_by_hour],
            series=[
                Series("p50", [row.wait_p50 for row in report.waits_by_hour], "line-a"),
                Series("p90", [row.wait_p90 for row in report.waits_by_hour], "line-b"),
            ],
            value_text=duration_text,
            every=2,
        ),
        "csat": rows(
            title="CSAT by cohort (1 to 5)",
            bars=[(row.label, row.csat) for row in cohorts],
            value_text=lambda v: f"{v:.2f}",
            top=5,
        ),
    }
