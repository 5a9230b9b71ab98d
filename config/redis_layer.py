"""The Redis channel layer: its settings, in one place for the app and the tests, and a layer that
rides out a Redis outage instead of closing every socket of the process.

channels_redis raises from `receive()` when Redis is unreachable, and Channels' consumer loop lets
that end the consumer: with Redis down or restarting, every WebSocket of every process closes with
1011, reconnects, and closes again. `ResilientRedisChannelLayer.receive` waits for Redis instead
and then hands the consumer one `{"type": "layer.recovered"}` message: a restarted Redis has
forgotten every group, so each consumer joins its groups again and sends its client what was
broadcast meanwhile (widget and inbox consumers, `layer_recovered`). Messages are stored and
acknowledged through PostgreSQL throughout; only live delivery waits.
"""

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# channels_redis waits up to 5 s in BZPOPMIN for a consumer's next message, and redis-py (8.x)
# times socket reads out after 5 s by default: an idle consumer would crash with "Timeout reading
# from Redis" and its WebSocket close with 1011. Reads must be allowed to outlast that wait.
SOCKET_TIMEOUT_SECONDS = 30
# How often a consumer whose Redis is down checks whether it is back: soon, then every few seconds.
RECOVERY_FIRST_CHECK_SECONDS, RECOVERY_MAX_CHECK_SECONDS = 0.5, 4.0
LAYER_RECOVERED = "layer.recovered"
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)


class ResilientRedisChannelLayer(RedisChannelLayer):
    async def receive(self, channel):
        try:
            return await super().receive(channel)
        except REDIS_DOWN:
            logger.warning("Redis is unreachable; %s waits for it", channel)
        delay = RECOVERY_FIRST_CHECK_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                await self.connection(self.consistent_hash(channel)).ping()
            except REDIS_DOWN:
                delay = min(delay * 2, RECOVERY_MAX_CHECK_SECONDS)
                continue
            return {"type": LAYER_RECOVERED}


def redis_channel_layer(url: str) -> dict:
    return {
        "BACKEND": "config.redis_layer.ResilientRedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": url,
                    "socket_timeout": SOCKET_TIMEOUT_SECONDS,
                    # A restarted Redis closed every pooled connection: the first command on each
                    # fails once, and without a retry that broadcast would be lost.
                    "retry_on_error": [RedisConnectionError],
                }
            ],
            "capacity": 1500,
            "expiry": 30,
        },
    }
