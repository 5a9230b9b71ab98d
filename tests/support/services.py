"""Real external services for integration tests: Redis, a Celery worker, a Daphne server.

On a laptop a missing Redis or Chromium skips the tests that need it with one line saying
what to install; in CI (CI=true) the same absence fails the run, so nothing is hidden.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, what: str, how_to_get_it: str) -> None:
    if condition:
        return
    message = f"{what} is not available: {how_to_get_it}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def redis_available(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


def child_env(redis_url: str | None, **extra: str) -> dict[str, str]:
    """Environment for a process serving the test database (see config/settings_test.py)."""
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="config.settings_test", HANDOFF_TEST_PROCESS="1", PYTHONUNBUFFERED="1")
    # Webhook receivers and the HubSpot contract server of the tests listen on 127.0.0.1: allowed here,
    # explicitly, for the processes the tests start (the test process sets it per test).
    env.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32")
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed when the process is stopped
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_file = log  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    process.log_file.close()  # type: ignore[attr-defined]


@contextmanager
def daphne(*, redis_url: str | None, log_path: Path, **env: str) -> Iterator[str]:
    """A real Daphne process on a free port, serving the test database; yields its base URL."""
    port = free_port()
    process = start(
        [python_bin("daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        child_env(redis_url, HANDOFF_TEST_EAGER_TASKS="1", **env),
        log_path,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def python_bin(name: str) -> str:
    """A console script from the same virtualenv as the running interpreter."""
    return str(Path(sys.executable).with_name(name))


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.2):
    """Poll `condition` until it returns something truthy (returned), or fail saying what never came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
