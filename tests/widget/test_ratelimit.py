from concurrent.futures import ThreadPoolExecutor

import pytest

from widget.ratelimit import rate_limit_hit


@pytest.fixture(autouse=True, params=["local memory", "redis"])
def fresh_cache(request, settings):
    """Every test counts in the local-memory cache and in a real Redis (one script call there)."""
    from django.core.cache import cache

    if request.param == "redis":
        location = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}}
    cache.clear()


def hit(now: float, key: str = "visitor-1"):
    return rate_limit_hit(key=key, limit=10, window_seconds=10, now=now)


def test_ten_messages_in_ten_seconds_pass_and_the_eleventh_waits():
    start = 1_000_000.0  # the start of a bucket
    assert all(hit(start + i * 0.1).allowed for i in range(10))
    refused = hit(start + 1.0)
    assert not refused.allowed
    assert 0 < refused.retry_after <= 20


def test_the_window_slides_instead_of_resetting_at_a_boundary():
    start = 1_000_009.0  # 9 s into a bucket: the burst sits at its end
    assert all(hit(start + i * 0.05).allowed for i in range(10))
    # 1.5 s later a new bucket began, but the burst is still inside the last 10 s.
    assert not hit(start + 1.5).allowed
    # Once the previous bucket's weight has decayed enough, one more fits.
    assert hit(start + 2.0).allowed


def test_refused_attempts_do_not_extend_the_wait():
    start = 1_000_000.0
    for i in range(10):
        hit(start + i * 0.1)
    for i in range(50):
        assert not hit(start + 2 + i * 0.01).allowed
    later = hit(start + 20.5)
    assert later.allowed


def test_retry_after_is_honest():
    start = 1_000_000.0
    for i in range(10):
        hit(start + i * 0.1)
    refused = hit(start + 1.0)
    assert not hit(start + 1.0 + refused.retry_after - 0.5).allowed
    assert hit(start + 1.0 + refused.retry_after + 0.01).allowed


def test_visitors_are_limited_separately():
    start = 1_000_000.0
    for i in range(10):
        hit(start + i * 0.1, key="a")
    assert not hit(start + 1, key="a").allowed
    assert hit(start + 1, key="b").allowed


@pytest.mark.parametrize("fresh_cache", ["redis"], indirect=True)  # the shared cache, where processes race
def test_concurrent_senders_get_exactly_the_limit():
    start = 1_000_000.0
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(lambda i: hit(start + 0.001 * (i % 3)), range(40)))
    assert sum(verdict.allowed for verdict in verdicts) == 10
