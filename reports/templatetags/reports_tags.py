from django import template

from reports.durations import duration_text

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """17 min, 2 h 5 min: a duration as people say it."""
    return duration_text(seconds)
