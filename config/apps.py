import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("handoff")


class ConfigAppConfig(AppConfig):
    name = "config"
    label = "handoff_config"
    verbose_name = "Handoff configuration"

    def ready(self) -> None:
        # One line at start-up saying which real-time mode this process runs in.
        if settings.REDIS_URL:
            logger.info("Redis configured: Redis channel layer, Celery tasks go to workers")
        else:
            logger.info("REDIS_URL unset: in-memory channel layer, Celery tasks run eagerly in-process")
        if not settings.DATABASE_URL:
            logger.info("DATABASE_URL unset: embedded PostgreSQL under %s", settings.DATA_DIR / "pgdata")
