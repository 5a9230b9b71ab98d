from django.apps import AppConfig


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Handoff triggers"

    def ready(self) -> None:
        # Django connects receivers in ready(): their module imports models, which need the app registry.
        from triggers import signals  # noqa: F401, PLC0415 - connects the receivers
