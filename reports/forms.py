"""The report page's controls: the period, the team, the comparison and the ROI inputs (all GET)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone

from agents.models import Team
from reports.metrics import Period
from reports.roi import DEFAULT_ASSISTANT_MONTHLY_COST, DEFAULT_COST_PER_ENQUIRY, DEFAULT_HOURLY_COST, RoiInputs

MAX_DAYS = 366
EARLIEST = dt.date(2000, 1, 1)  # with the comparison period before it, still a date Python can hold
MONEY = {"min_value": Decimal("0"), "max_value": Decimal("1000000000"), "decimal_places": 2, "max_digits": 12}


class ReportForm(forms.Form):
    days = forms.ChoiceField(
        choices=[("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"), ("custom", "From … to …")],
        initial="30",
        required=False,
        label="Period",
    )
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="All teams")
    compare = forms.BooleanField(required=False, initial=True, label="Compare with the previous period")
    cost_per_enquiry = forms.DecimalField(
        **MONEY, required=False, label="Cost per human-handled enquiry", initial=DEFAULT_COST_PER_ENQUIRY
    )
    hourly_cost = forms.DecimalField(**MONEY, required=False, label="Hourly agent cost", initial=DEFAULT_HOURLY_COST)
    assistant_monthly_cost = forms.DecimalField(
        **MONEY, required=False, label="Assistant cost per month", initial=DEFAULT_ASSISTANT_MONTHLY_COST
    )
    monthly_volume = forms.IntegerField(
        min_value=0, max_value=10**9, required=False, label="Monthly volume", help_text="Empty: the measured volume."
    )

    def __init__(self, data=None, **kwargs) -> None:
        # A first visit (no query string) is the defaults, comparison on; a submitted form says itself.
        super().__init__(data if data else None, **kwargs)
        self.submitted = bool(data)

    def clean(self):
        data = super().clean()
        if data.get("days") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError("Give both dates of a custom period.")
            if start < EARLIEST:
                self.add_error("start", f"Start on {EARLIEST.isoformat()} or later.")
            elif end > timezone.localdate() + dt.timedelta(days=1):
                self.add_error("end", "The end is in the future.")
            elif end < start:
                self.add_error("end", "The end is before the start.")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("end", f"A period is at most {MAX_DAYS} days.")
        return data

    def _value(self, name: str):
        if not self.submitted:
            return self.fields[name].initial
        if self.is_valid():
            return self.cleaned_data.get(name)
        return self.fields[name].initial  # an invalid form shows its errors and the defaults' report

    def period(self, *, now: dt.datetime | None = None) -> Period:
        now = now or timezone.now()
        team = self._value("team")
        if self._value("days") == "custom":
            zone = timezone.get_current_timezone()
            start = dt.datetime.combine(self.cleaned_data["start"], dt.time(), tzinfo=zone)
            end = dt.datetime.combine(self.cleaned_data["end"] + dt.timedelta(days=1), dt.time(), tzinfo=zone)
            return Period(start=start, end=end, team=team)
        return Period.last(int(self._value("days") or 30), now=now, team=team)

    def wants_comparison(self) -> bool:
        return bool(self._value("compare"))

    def roi_inputs(self) -> RoiInputs:
        def money(name, default):
            value = self._value(name)
            return default if value is None else value

        return RoiInputs(
            cost_per_enquiry=money("cost_per_enquiry", DEFAULT_COST_PER_ENQUIRY),
            hourly_cost=money("hourly_cost", DEFAULT_HOURLY_COST),
            assistant_monthly_cost=money("assistant_monthly_cost", DEFAULT_ASSISTANT_MONTHLY_COST),
            monthly_volume=self._value("monthly_volume"),
        )
