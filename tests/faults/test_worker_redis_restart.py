"""A Celery worker outlives Redis restarts (issue 17: it died on a Redis restart in 2 of 8 trials;
run as `manage.py serve` runs it, it died on the first: see config/broker.py)."""

import time

import pytest
from celery import Celery

from tests.faults.harness import LOG_DIR, wait_for_log
from tests.support import services
from tests.support.redis_server import OwnRedis

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

RESTARTS = 3


def test_a_worker_keeps_working_across_redis_restarts():
    redis_server = OwnRedis()
    redis_server.start()
    # The worker exactly as manage.py serve starts it (prefork pool, gossip and mingle on).
    worker = services.start(
        [services.python_bin("celery"), "-A", "config", "worker", "--loglevel=INFO"],
        services.child_env(redis_server.url),
        LOG_DIR / "worker-redis-restarts.log",
    )
    client = Celery(broker=redis_server.url, backend=redis_server.url)
    try:
        wait_for_log(worker, " ready.")
        assert client.send_task("config.celery.ping").get(timeout=30)["pong"]
        for restart in range(RESTARTS):
            redis_server.stop()
            time.sleep(1)
            redis_server.start()
            assert worker.poll() is None, f"the worker exited after Redis restart {restart + 1}"
            assert client.send_task("config.celery.ping").get(timeout=30)["pong"]
        assert worker.poll() is None
    finally:
        client.close()
        services.stop(worker)
        redis_server.stop()
