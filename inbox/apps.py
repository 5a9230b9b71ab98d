from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The agents' side: HTMX pages, the inbox socket, transcript and context (the models stay in agents/)."""

    name = "inbox"
    verbose_name = "Agent inbox"

    def ready(self) -> None:
        from inbox import signals  # noqa: PLC0415 - receivers are wired once the app registry is ready

        signals.connect()
