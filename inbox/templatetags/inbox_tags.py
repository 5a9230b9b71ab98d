"""Template helpers of the inbox: sentiment as words an agent reads at a glance."""

from django import template
from django.utils.html import format_html

register = template.Library()

# Upper bounds of each label on the model's -1..1 scale (triggers/sentiment.py).
SENTIMENT_LABELS = ((-0.5, "Very negative"), (-0.15, "Negative"), (0.15, "Neutral"), (0.5, "Positive"))
TREND_STEP = 0.15  # a change smaller than this between the earlier and the latest messages is "steady"


def sentiment_label(score: float) -> str:
    return next((label for bound, label in SENTIMENT_LABELS if score <= bound), "Very positive")


@register.simple_tag
def sentiment(score: float | None):
    """A labelled, coloured indicator; the number stays in the tooltip for the curious."""
    if score is None:
        return ""
    label = sentiment_label(score)
    css = label.lower().replace(" ", "-")
    return format_html(
        '<span class="sentiment sentiment-{}" title="Sentiment {} (from -1 to 1)">{}</span>',
        css.removeprefix("very-"),
        f"{score:.2f}",
        label,
    )


def sentiment_trend(scores: list[float]) -> str:
    """ "getting worse", "improving" or "steady", comparing the latest two scores with the earlier ones."""
    if len(scores) < 2:
        return ""
    earlier, latest = scores[:-2] or scores[:1], scores[-2:] if len(scores) > 2 else scores[-1:]
    change = sum(latest) / len(latest) - sum(earlier) / len(earlier)
    if change <= -TREND_STEP:
        return "getting worse"
    if change >= TREND_STEP:
        return "improving"
    return "steady"


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, "")


@register.filter
def split(value: str) -> list[str]:
    return value.split()
