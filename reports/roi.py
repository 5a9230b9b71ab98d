"""What the bot is worth, from the measured automation rate and handling time and the manager's costs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ROI_FORMULA = """\
    conversations the bot resolved = bot-only resolved conversations in the period (the cohort)
    agent hours saved              = bot resolved x mean human handling time (hours)
    money saved                    = bot resolved x cost per human-handled enquiry
    assistant cost (period)        = assistant cost per month x period days / 30
    ROI                            = (money saved - assistant cost) / assistant cost
    projected per month            = monthly volume x automation rate x cost per enquiry

"""
# The mean handling time (not the median) turns a count into hours: totals add up means.

DEFAULT_COST_PER_ENQUIRY = Decimal("6.00")
DEFAULT_HOURLY_COST = Decimal("30.00")
DEFAULT_ASSISTANT_MONTHLY_COST = Decimal("300.00")


@dataclass(frozen=True)
class RoiInputs:
    cost_per_enquiry: Decimal = DEFAULT_COST_PER_ENQUIRY
    hourly_cost: Decimal = DEFAULT_HOURLY_COST
    assistant_monthly_cost: Decimal = DEFAULT_ASSISTANT_MONTHLY_COST
    monthly_volume: int | None = None  # empty: the measured volume scaled to 30 days


@dataclass(frozen=True)
class Roi:
    inputs: RoiInputs
    bot_resolved: int
    automation_rate: float | None
    handling_mean_seconds: float | None
    agent_hours_saved: float | None
    hours_value: Decimal | None  # the hours saved at the hourly cost (a cross-check of money saved)
    money_saved: Decimal
    assistant_cost: Decimal
    roi: float | None
    monthly_volume: int
    projected_monthly_saving: Decimal | None


def _money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def roi_compute(
    *,
    inputs: RoiInputs,
    bot_resolved: int,
    automation_rate: float | None,
    handling_mean_seconds: float | None,
    conversations: int,
    period_days: float,
) -> Roi:
    hours = bot_resolved * handling_mean_seconds / 3600 if handling_mean_seconds is not None else None
    money_saved = _money(inputs.cost_per_enquiry * bot_resolved)
    assistant_cost = _money(inputs.assistant_monthly_cost * Decimal(period_days) / 30)
    measured_monthly = round(conversations * 30 / period_days) if period_days else 0
    monthly_volume = inputs.monthly_volume if inputs.monthly_volume is not None else measured_monthly
    return Roi(
        inputs=inputs,
        bot_resolved=bot_resolved,
        automation_rate=automation_rate,
        handling_mean_seconds=handling_mean_seconds,
        agent_hours_saved=round(hours, 1) if hours is not None else None,
        hours_value=_money(Decimal(hours) * inputs.hourly_cost) if hours is not None else None,
        money_saved=money_saved,
        assistant_cost=assistant_cost,
        roi=round(float((money_saved - assistant_cost) / assistant_cost), 2) if assistant_cost else None,
        monthly_volume=monthly_volume,
        projected_monthly_saving=(
            _money(Decimal(monthly_volume) * Decimal(automation_rate) * inputs.cost_per_enquiry)
            if automation_rate is not None
            else None
        ),
    )
