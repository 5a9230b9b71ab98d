from django.apps import AppConfig


class WidgetConfig(AppConfig):
    """The visitor's side: the widget's socket, protocol, tokens, rate limits, pipeline and demo pages."""

    name = "widget"
    verbose_name = "Visitor widget"
