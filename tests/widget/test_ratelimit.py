from concurrent.futures import ThreadPoolExecutor

import pytest

from config.redis_cache import redis_cache
from widget.ratelimit import rate_limit_hit, rate_limit_release


@pytest.fixture(autouse=True, params=["local memory", "redis"])
def fresh_cache(request, settings):
    """Every test counts in the local-memory cache and in a real Redis (one script call there)."""
    from django.core.cache import cache

    if request.param == "redis":
        location = request.getfixturevalue("redis_url")
        settings.CACHES = {"default": redis_cache(location)}
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


def test_an_event_given_back_frees_its_slot():
    start = 1_000_000.0
    verdicts = [hit(start + i * 0.1) for i in range(10)]
    rate_limit_release(verdicts[-1])  # e.g. the message failed to store
    assert hit(start + 1.0).allowed
    assert not hit(start + 1.1).allowed


def test_giving_back_a_refused_event_frees_nothing():
    start = 1_000_000.0
    for i in range(10):
        hit(start + i * 0.1)
    refused = hit(start + 1.0)
    rate_limit_release(refused)
    assert not hit(start + 1.1).allowed


def test_an_event_given_back_after_its_count_expired_takes_no_other_slot():
    from django.core.cache import cache

    start = 1_000_000.0
    verdict = hit(start)
    cache.clear()  # as when the bucket expired meanwhile
    rate_limit_release(verdict)
    assert sum(hit(start + 1 + i * 0.1).allowed for i in range(11)) == 10


@pytest.mark.parametrize("fresh_cache", ["redis"], indirect=True)  # the shared cache, where processes race
def test_concurrent_senders_get_exactly_the_limit():
    start = 1_000_000.0
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(lambda i: hit(start + 0.001 * (i % 3)), range(40)))
    assert sum(verdict.allowed for verdict in verdicts) == 10


@pytest.mark.redis
def test_rate_limits_counted_from_many_threads_share_one_redis_connection(request, settings):
    """The widget counts a message's limits in a database hop (a new thread context each time): each
    built a new cache, a new pool and a new Redis connection before the ack (issue 12)."""
    from django.core.cache import caches

    settings.CACHES = {"default": redis_cache(request.getfixturevalue("redis_url"))}

    def hit_in_a_fresh_context(number: int):
        assert rate_limit_hit(key=f"visitor-{number}", limit=10, window_seconds=10).allowed
        return caches["default"]._cache._get_connection_pool(write=True)  # no public accessor

    with ThreadPoolExecutor(max_workers=4) as threads:
        pools = set(threads.map(hit_in_a_fresh_context, range(8)))
    # One pool, so its idle connections serve the next hop (the old code: 8 pools, 8 new connections).
    assert pools == {caches["default"]._cache._get_connection_pool(write=True)}
