"""`manage.py serve`: Daphne (plus a Celery worker and beat when REDIS_URL is set), until Ctrl-C.

A child that exits is started again; only Ctrl-C (or SIGTERM) stops the site."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

RESTART_AT_MOST_EVERY_SECONDS = 5.0


def daphne_command(*, bin_dir: Path, host: str, port: int) -> list[str]:
    """Daphne with the limits an exposed server needs (README.md, Production): a request that has not
    been answered within DAPHNE_HTTP_TIMEOUT, headers and body included (a slowloris drip), gets a
    503 and is closed; a WebSocket handshake must finish in DAPHNE_WS_CONNECT_TIMEOUT; an idle
    socket is pinged every DAPHNE_WS_PING_INTERVAL and closed when its peer stops answering; no
    socket lives longer than DAPHNE_WS_MAX_AGE (the widget and the inbox reconnect and resume)."""
    command = [
        str(bin_dir / "daphne"),
        "-b", host,
        "-p", str(port),
        "--http-timeout", str(settings.DAPHNE_HTTP_TIMEOUT),
        "--websocket_connect_timeout", str(settings.DAPHNE_WS_CONNECT_TIMEOUT),
        "--ping-interval", str(settings.DAPHNE_WS_PING_INTERVAL),
        "--ping-timeout", str(settings.DAPHNE_WS_PING_INTERVAL * 2),
        "--websocket_timeout", str(settings.DAPHNE_WS_MAX_AGE),
    ]  # fmt: skip
    if settings.PROXY_CLIENT_IP_HEADER:
        command += ["--proxy-headers", "--proxy-headers-host", settings.PROXY_CLIENT_IP_HEADER]
    return [*command, "config.asgi:application"]


class Command(BaseCommand):
    help = "Serve the demo site, the agent inbox and the admin with Daphne; Ctrl-C stops everything."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        # Hold the embedded database open in this process, so it stays up while children restart.
        connection.ensure_connection()
        bin_dir = Path(sys.executable).parent
        commands = [daphne_command(bin_dir=bin_dir, host=host, port=port)]
        if settings.REDIS_URL:
            commands.append([str(bin_dir / "celery"), "-A", "config", "worker", "--loglevel=INFO"])
            commands.append(
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "config",
                    "beat",
                    "--loglevel=INFO",
                    "--schedule",
                    str(settings.DATA_DIR / "celerybeat-schedule"),
                ]
            )
        children = [subprocess.Popen(command, env=os.environ.copy()) for command in commands]
        started = [time.monotonic()] * len(children)

        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS("\nHandoff is running:"))
        self.stdout.write(f"  Demo shop with the chat widget  {base}/")
        self.stdout.write(f"  Agent inbox                     {base}/inbox/")
        self.stdout.write(f"  Admin for managers              {base}/admin/")
        self.stdout.write(f"  Health                          {base}/healthz")
        if not settings.REDIS_URL:
            self.stdout.write("  (REDIS_URL unset: in-memory channel layer, tasks run in the web process)")
        self.stdout.write("Press Ctrl-C to stop.\n")

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            time.sleep(0.5)
            for index, child in enumerate(children):
                if stopping or child.poll() is None:
                    continue
                # One part died (a worker on a Redis restart, Daphne on a crash): restart it, and keep the
                # rest of the site up. One that dies at once is restarted no more than every few seconds.
                if time.monotonic() - started[index] < RESTART_AT_MOST_EVERY_SECONDS:
                    continue
                name = Path(commands[index][0]).name
                self.stderr.write(f"{name} exited with code {child.returncode}; restarting it.")
                children[index] = subprocess.Popen(commands[index], env=os.environ.copy())
                started[index] = time.monotonic()
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("Stopped.")
