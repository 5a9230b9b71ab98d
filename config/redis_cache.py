"""One Redis connection pool per process for Django's Redis cache (the widget's rate limits, the
trigger rules' version), shared by every thread and async context.

Django's cache handler keeps one cache object per async context, and the widget's database hops
(`database_sync_to_async`) each run in a copy of the context: every message's rate limits built a
new cache object, a new connection pool and so a new Redis connection (a TCP connect and the
client's handshake) before its ack. Passed as the cache's `pool_class`, this pool hands back the
process's pool for the same URL and options instead. redis-py's pools are thread-safe and start
afresh in a forked child.
"""

import threading
from typing import ClassVar

import redis


class ProcessConnectionPool(redis.ConnectionPool):
    _pools: ClassVar[dict[tuple, redis.ConnectionPool]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options) -> redis.ConnectionPool:
        key = (url, *sorted(options.items()))
        with cls._lock:
            if key not in cls._pools:
                cls._pools[key] = super().from_url(url, **options)
            return cls._pools[key]


def redis_cache(url: str) -> dict:
    """The Redis cache's settings, in one place for the app and the tests."""
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "OPTIONS": {"pool_class": f"{__name__}.ProcessConnectionPool"},
    }
