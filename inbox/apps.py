from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The agents' side: HTMX pages, the inbox socket, transcript and context (the models stay in agents/)."""

    name = "inbox"
    verbose_name = "Agent inbox"
