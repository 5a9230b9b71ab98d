"""How a real Celery worker runs answers (issue 12, throughput at saturation): it keeps its
PostgreSQL connection across tasks, sends to the channel layer through one event loop of its own,
and runs at a lower CPU priority than the web processes. Each was a measured cost: a new
PostgreSQL backend per task, a new event loop thread and Redis connection per broadcast, answers
competing with acks for the cores."""

import os

import pytest

from config.celery import worker_probe
from tests.conftest import LOG_DIR
from tests.support import services

QUEUE = f"worker-shape-{os.getpid()}"


@pytest.fixture(scope="module")
def probed_worker(redis_url, django_db_setup, django_db_blocker):
    """A worker of its own on a queue of its own, prefork with one pool process and persistent
    connections as in production (the suite's processes close theirs, so that the test database can
    be dropped)."""
    worker = [services.python_bin("celery"), "-A", "config", "worker", "--concurrency=1", "-Q", QUEUE]
    process = services.start(
        [*worker, "--without-gossip", "--without-mingle", "--loglevel=INFO", f"--hostname={QUEUE}@%h"],
        services.child_env(redis_url, HANDOFF_TEST_CONN_MAX_AGE="60"),
        LOG_DIR / "celery-worker-shape.log",
    )
    yield process
    services.stop(process)


def probe(celery_worker) -> dict:
    return worker_probe.apply_async(queue=QUEUE).get(timeout=60)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_and_send_loop_across_tasks(probed_worker, celery_worker):
    first, second = probe(celery_worker), probe(celery_worker)
    assert first["pid"] == second["pid"]  # one pool process, so one connection to keep
    # Celery's Django fixup closed the connection around every task: a new backend each time.
    assert first["db_backend_pid"] == second["db_backend_pid"]
    # async_to_sync with no loop to hand over to started a new one per call.
    assert first["send_loop"] == second["send_loop"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_below_the_web_processes_cpu_priority(probed_worker, celery_worker, settings):
    assert settings.HANDOFF_WORKER_NICE > 0
    # Relative to this process (the suite may itself run niced); the kernel caps niceness at 19.
    assert probe(celery_worker)["nice"] == min(19, os.nice(0) + settings.HANDOFF_WORKER_NICE)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_pool_process_loads_the_embedding_model_before_its_first_task(probed_worker, celery_worker):
    assert probe(celery_worker)["model_loaded"]


@pytest.mark.django_db
def test_an_eager_task_leaves_its_callers_database_connection_alone():
    """Without REDIS_URL tasks run in their caller (a bot thread, a test), mid-way through its work:
    closing connections around them, as around a worker's tasks, closed the caller's."""
    from django.db import connection

    from config.celery import ping

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (before,) = cursor.fetchone()
    assert ping.delay().get()["pong"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone() == (before,)
