from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and integrations"

    def ready(self) -> None:
        # The receivers module imports models, so it can only be loaded once the registry is ready.
        from api.webhooks import receivers  # noqa: PLC0415 - models must be loaded first

        receivers.connect()
