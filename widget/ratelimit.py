"""A sliding-window rate limit on Django's cache: no table, shared by every server process
that shares the cache (Redis), per process with the default local-memory cache.

The window is approximated from two fixed buckets, the current one and the previous one
weighted by how much of it still overlaps the window (the approach Cloudflare describes):
two cache keys per visitor, no per-request list to trim. Rejected attempts are not counted,
so a visitor who waits `retry_after` seconds can send again.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    retry_after: float  # seconds until one more would be allowed (0 when allowed)


def visitor_message_limits() -> tuple[int, int]:
    return settings.WIDGET_RATE_LIMIT_MESSAGES, settings.WIDGET_RATE_LIMIT_SECONDS


def rate_limit_hit(*, key: str, limit: int, window_seconds: int, now: float | None = None) -> RateLimitResult:
    """Count one event for `key` if fewer than `limit` happened in the last `window_seconds`."""
    cache = caches[settings.WIDGET_RATE_LIMIT_CACHE]
    now = time.time() if now is None else now
    bucket = int(now // window_seconds)
    current_key, previous_key = f"ratelimit:{key}:{bucket}", f"ratelimit:{key}:{bucket - 1}"
    try:
        counts = cache.get_many([current_key, previous_key])
    except RedisError:
        # The shared cache (Redis) is down: let the visitor chat rather than lose their message; the
        # limits count again when it is back.
        logger.warning("Rate limits unavailable (Redis down); allowing %s", key)
        return RateLimitResult(allowed=True, retry_after=0.0)
    current, previous = counts.get(current_key, 0), counts.get(previous_key, 0)
    elapsed = now - bucket * window_seconds
    weight = 1 - elapsed / window_seconds
    if current + previous * weight + 1 > limit:
        retry_after = _retry_after(current, previous, elapsed, limit, window_seconds)
        return RateLimitResult(allowed=False, retry_after=retry_after)
    # add() then incr(): both atomic in Redis, so concurrent senders cannot lose counts.
    try:
        cache.add(current_key, 0, timeout=2 * window_seconds + 1)
        try:
            cache.incr(current_key)
        except ValueError:  # expired between add() and incr()
            cache.set(current_key, 1, timeout=2 * window_seconds + 1)
    except RedisError:
        logger.warning("Rate limits unavailable (Redis down); not counting %s", key)
    return RateLimitResult(allowed=True, retry_after=0.0)


def _retry_after(current: int, previous: int, elapsed: float, limit: int, window: int) -> float:
    """Seconds until the weighted count leaves room for one more event."""
    if current + 1 > limit:
        # Only the next bucket helps, and then the weighted `current` must fit.
        wait_for_bucket = window - elapsed
        # In the next bucket, `current` becomes `previous` with weight (1 - t/window).
        needed = 1 - (limit - 1) / current if current else 0
        return round(wait_for_bucket + max(0.0, needed) * window, 2)
    # Room appears as the previous bucket's weight decays: previous * (1 - (elapsed + t)/window) <= limit - 1 - current
    if previous == 0:
        return 0.0
    target_weight = (limit - 1 - current) / previous
    t = (1 - target_weight) * window - elapsed
    return round(max(0.0, math.ceil(t * 100) / 100), 2)
