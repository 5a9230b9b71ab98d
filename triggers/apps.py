from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Handoff triggers"

    def ready(self) -> None:
        from triggers import signals  # noqa: F401 - connects the receivers
