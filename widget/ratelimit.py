"""A sliding-window rate limit on Django's cache: no table, shared by every server process
that shares the cache (Redis), per process with the default local-memory cache.

The window is approximated from two fixed buckets, the current one and the previous one
weighted by how much of it still overlaps the window (the approach Cloudflare describes):
two cache keys per visitor, no per-request list to trim. Rejected attempts are not counted,
so a visitor who waits `retry_after` seconds can send again; an allowed event that did not happen
after all (a message the database failed to store) is given back with `rate_limit_release`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    retry_after: float  # seconds until one more would be allowed (0 when allowed)
    counted_in: str | None = None  # the cache key the event was counted in, for rate_limit_release


def visitor_message_limits() -> tuple[int, int]:
    return settings.WIDGET_RATE_LIMIT_MESSAGES, settings.WIDGET_RATE_LIMIT_SECONDS


# With Redis, reading both buckets and counting the event are one script (one round trip instead of
# three on the ack path of every visitor message, and atomic). The counts are the plain integers Django's
# cache stores, under its own key names, so both ways count in the same keys.
_HIT_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if current + previous * tonumber(ARGV[1]) + 1 > tonumber(ARGV[2]) then
  return {0, current, previous}
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, current, previous}
"""
# Giving an event back: a DECR keeps the key's expiry, and a key that already expired stays gone.
_RELEASE_SCRIPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


def rate_limit_hit(*, key: str, limit: int, window_seconds: int, now: float | None = None) -> RateLimitResult:
    """Count one event for `key` if fewer than `limit` happened in the last `window_seconds`."""
    cache = caches[settings.WIDGET_RATE_LIMIT_CACHE]
    now = time.time() if now is None else now
    bucket = int(now // window_seconds)
    current_key, previous_key = f"ratelimit:{key}:{bucket}", f"ratelimit:{key}:{bucket - 1}"
    elapsed = now - bucket * window_seconds
    weight = 1 - elapsed / window_seconds
    try:
        hit = _hit_in_redis if isinstance(cache, RedisCache) else _hit_in_cache
        allowed, current, previous = hit(cache, current_key, previous_key, weight, limit, window_seconds)
    except RedisError:
        # The shared cache (Redis) is down: let the visitor chat rather than lose their message; the
        # limits count again when it is back.
        logger.warning("Rate limits unavailable (Redis down); allowing %s", key)
        return RateLimitResult(allowed=True, retry_after=0.0)
    if allowed:
        return RateLimitResult(allowed=True, retry_after=0.0, counted_in=current_key)
    return RateLimitResult(allowed=False, retry_after=_retry_after(current, previous, elapsed, limit, window_seconds))


def rate_limit_release(verdict: RateLimitResult) -> None:
    """Uncount the event `verdict` allowed and counted, which did not happen after all."""
    if verdict.counted_in is None:  # refused, or allowed uncounted while Redis was down
        return
    cache = caches[settings.WIDGET_RATE_LIMIT_CACHE]
    try:
        if isinstance(cache, RedisCache):
            key = cache.make_and_validate_key(verdict.counted_in)
            cache._cache.get_client(key, write=True).register_script(_RELEASE_SCRIPT)(keys=[key])
        else:
            cache.decr(verdict.counted_in)
    except ValueError:  # local memory: the bucket expired meanwhile, so the event no longer counts anyway
        pass
    except RedisError:
        logger.warning("Rate limits unavailable (Redis down); %s keeps a count it gave back", verdict.counted_in)


def _hit_in_cache(
    cache, current_key: str, previous_key: str, weight: float, limit: int, window_seconds: int
) -> tuple[bool, int, int]:
    """Any other cache (local memory: one process). add() then incr(), so concurrent threads lose no counts."""
    counts = cache.get_many([current_key, previous_key])
    current, previous = counts.get(current_key, 0), counts.get(previous_key, 0)
    if current + previous * weight + 1 > limit:
        return False, current, previous
    cache.add(current_key, 0, timeout=2 * window_seconds + 1)
    try:
        cache.incr(current_key)
    except ValueError:  # expired between add() and incr()
        cache.set(current_key, 1, timeout=2 * window_seconds + 1)
    return True, current, previous


def _hit_in_redis(
    cache: RedisCache, current_key: str, previous_key: str, weight: float, limit: int, window_seconds: int
) -> tuple[bool, int, int]:
    keys = [cache.make_and_validate_key(current_key), cache.make_and_validate_key(previous_key)]
    client = cache._cache.get_client(keys[0], write=True)  # Django's client for these keys (no public accessor)
    allowed, current, previous = client.register_script(_HIT_SCRIPT)(
        keys=keys, args=[repr(weight), limit, 2 * window_seconds + 1]
    )
    return bool(allowed), int(current), int(previous)


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
