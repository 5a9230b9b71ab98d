from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Managers' analytics (floor 3): outcome cohorts, rates, percentiles, triggers' precision, wait
    promises, per agent and team, ROI; read from handoff, triggers and knowledge, written by none."""

    name = "reports"
    verbose_name = "Reports"
