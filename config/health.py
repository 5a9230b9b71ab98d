"""GET /healthz: is every part this process depends on answering? 200 if so, 503 if not."""

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from agents.selectors import user_is_manager

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_pgvector() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the vector extension is not installed (run migrate)")
    return f"ok (pgvector {row[0]})"


def check_channel_layer() -> str:
    """Send a message to a fresh channel and read it back through the configured layer.

    A layer instance of its own: the server's shared instance lets one receiver at a time read
    its process channels, and the consumers' receive loop would keep our message waiting.
    """
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)

    async def round_trip() -> None:
        try:
            channel = await layer.new_channel()
            marker = uuid.uuid4().hex
            await layer.send(channel, {"type": "healthz", "marker": marker})
            message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)
            if message.get("marker") != marker:
                raise RuntimeError("the channel layer returned another message")
        finally:
            if hasattr(layer, "close_pools"):  # channels_redis: don't leak connections per check
                await layer.close_pools()

    async_to_sync(round_trip)()
    return f"ok ({type(layer).__name__})"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok (no broker: tasks run eagerly in-process)"
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    return "ok"


CHECKS = {
    "database": check_database,
    "pgvector": check_pgvector,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


@never_cache
@require_GET
def healthz(request):
    # A failure's text names hosts and ports ("connecting to redis-7.internal:6379"): it goes to the
    # log, and to signed-in managers; an anonymous caller (a load balancer) only needs ok or not.
    detailed = user_is_manager(request.user)
    results = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            results[name] = {"ok": True, "detail": check()}
        except Exception as exc:  # a health check reports every failure, whatever its kind
            logger.warning("healthz: %s failed: %s", name, exc)
            detail = f"{type(exc).__name__}: {exc}" if detailed else "unavailable (details in the server log)"
            results[name] = {"ok": False, "detail": detail}
            healthy = False
    return JsonResponse({"ok": healthy, "checks": results}, status=200 if healthy else 503)
