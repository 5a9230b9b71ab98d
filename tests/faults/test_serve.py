"""`manage.py serve` keeps the site up when one of its parts dies (issue 17: a Celery worker that
died on a Redis restart used to stop the whole site)."""

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.faults.harness import BUDGETS, LOG_DIR
from tests.support import services
from tests.support.redis_server import OwnRedis

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def children(pid: int) -> dict[int, str]:
    """The process's children, by pid, with their command lines."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            found[int(child)] = cmdline
    return found


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_worker_that_dies_is_restarted_and_the_site_stays_up():
    redis_server = OwnRedis()
    redis_server.start()
    port = services.free_port()
    serve = services.start(
        [services.python_bin("python"), "manage.py", "serve", "--port", str(port)],
        services.child_env(redis_server.url, **BUDGETS),
        LOG_DIR / "serve.log",
    )
    try:
        services.wait_for_port(port, serve, timeout=90)
        workers = services.wait_for(
            lambda: [pid for pid, cmd in children(serve.pid).items() if " worker" in cmd],
            timeout=30,
            what="serve's celery worker",
        )
        os.kill(workers[0], signal.SIGKILL)
        replacement = services.wait_for(
            lambda: [pid for pid, cmd in children(serve.pid).items() if " worker" in cmd and pid != workers[0]],
            timeout=30,
            what="a new celery worker",
        )
        assert replacement and serve.poll() is None, "serve stopped instead of restarting its worker"
        time.sleep(1)
        assert listening(port), "Daphne went down with the worker"
    finally:
        services.stop(serve)
        redis_server.stop()
