from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents and teams"

    def ready(self) -> None:
        from agents import hours  # noqa: PLC0415 - receivers are wired once the app registry is ready

        hours.connect()
