"""The fault suite's moving parts: real processes to kill, and visitors that behave like the widget.

A `Site` is Daphne + a Celery worker + beat over a redis-server of its own, serving the test
database (the embedded PostgreSQL); visitors are answered in the worker, or in Daphne's threads
(`answer_in="web"`, the default setting) with beat's sweep in the worker catching what a killed
Daphne lost. A `Visitor` keeps an outbox of unacknowledged messages, sends
them again (same client_id) after every reconnect, and resumes with after_seq, as widget.js does.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from websockets.asyncio.client import connect

from tests.support import services
from tests.support.redis_server import OwnRedis

LOG_DIR = Path(settings.DATA_DIR) / "logs" / "faults"
# Short sweeps, so a lost answer is found within seconds rather than the production 20-35 s.
FAST_SWEEP = {"HANDOFF_ANSWER_SWEEP_SECONDS": "2", "HANDOFF_ANSWER_LOST_AFTER_SECONDS": "3"}
# Every visitor comes from 127.0.0.1, and reconnects after each fault: room for all of them.
BUDGETS = {"WIDGET_BUDGET_CONNECT": "100000,100000,60", "WIDGET_BUDGET_CONVERSATION": "100000,100000,60"}


class Site:
    def __init__(self, redis_server: OwnRedis, *, daphnes: int = 1, answer_in: str = "workers") -> None:
        self.redis = redis_server
        self.answer_in = answer_in
        self.log_dir = LOG_DIR / uuid.uuid4().hex[:8]  # one folder per site: a later run keeps this one's logs
        self.ports = [services.free_port() for _ in range(daphnes)]
        self.daphnes: list = [None] * daphnes
        self.worker = None
        self.beat = None

    def env(self) -> dict[str, str]:
        in_workers = "1" if self.answer_in == "workers" else "0"
        return services.child_env(self.redis.url, HANDOFF_ANSWER_IN_WORKERS=in_workers, **FAST_SWEEP, **BUDGETS)

    def start_daphne(self, index: int = 0) -> None:
        port = self.ports[index]
        self.daphnes[index] = services.start(
            [services.python_bin("daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            self.env(),
            self.log_dir / f"daphne-{index}.log",
        )
        services.wait_for_port(port, self.daphnes[index], timeout=60)

    def start_worker(self) -> None:
        self.worker = services.start(
            [
                *(services.python_bin("celery"), "-A", "config", "worker", "--pool=threads", "--concurrency=4"),
                *("--without-gossip", "--without-mingle", "--loglevel=INFO"),
                f"--hostname=faults-{uuid.uuid4().hex[:6]}@%h",
            ],
            self.env(),
            self.log_dir / "worker.log",
        )

    def start_beat(self) -> None:
        schedule = self.log_dir / "beat-schedule"
        self.beat = services.start(
            [services.python_bin("celery"), "-A", "config", "beat", "--loglevel=INFO", "--schedule", str(schedule)],
            self.env(),
            self.log_dir / "beat.log",
        )

    def start(self) -> None:
        for index in range(len(self.daphnes)):
            self.start_daphne(index)
        self.start_worker()
        self.start_beat()

    @staticmethod
    def kill(process) -> None:
        """SIGKILL: no clean shutdown, as when a machine or the OOM killer takes it."""
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)

    def stop(self) -> None:
        for process in [*self.daphnes, self.worker, self.beat]:
            if process is not None:
                services.stop(process)

    def ws_url(self, index: int = 0) -> str:
        return f"ws://127.0.0.1:{self.ports[index]}/ws/widget/"

    def origin(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"


@dataclass
class Visitor:
    site: Site
    daphne: int = 0
    token: str | None = None
    conversation: str | None = None
    outbox: dict[str, str] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> seq
    received: dict[int, dict] = field(default_factory=dict)  # seq -> message event
    ack_waits: list[float] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    reconnects: int = 0
    _sent_at: dict[str, float] = field(default_factory=dict)
    _socket: object = None

    def say(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        self.outbox[client_id] = text
        self.sent.add(client_id)
        self._sent_at[client_id] = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected (reconnecting after any failure) until `stop` is set and the outbox is empty."""
        while not (stop.is_set() and not self.outbox):
            try:
                async with connect(
                    self.site.ws_url(self.daphne), origin=self.site.origin(self.daphne), proxy=None, open_timeout=5
                ) as socket:
                    self._socket = socket
                    await self._session(socket, stop)
            except (OSError, TimeoutError, Exception):
                self.reconnects += 1
                await asyncio.sleep(0.3)
        self._socket = None

    async def _session(self, socket, stop: asyncio.Event) -> None:
        await socket.send(json.dumps({"type": "hello", "token": self.token}))
        welcomed = False
        flushed: set[str] = set()
        while not (stop.is_set() and not self.outbox):
            if welcomed:
                for client_id, text in list(self.outbox.items()):
                    if client_id not in flushed:
                        flushed.add(client_id)
                        await socket.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
            try:
                frame = await asyncio.wait_for(socket.recv(), 0.2)
            except TimeoutError:
                continue
            event = json.loads(frame)
            kind = event["type"]
            if kind == "welcome":
                self.token, self.conversation = event["token"] or self.token, event["conversation"] or self.conversation
                if not welcomed and self.conversation:
                    await socket.send(json.dumps({"type": "resume", "after_seq": max(self.received, default=0)}))
                welcomed = True
            elif kind == "ack":
                if event["client_id"] in self.outbox:
                    self.ack_waits.append(time.monotonic() - self._sent_at[event["client_id"]])
                self.outbox.pop(event["client_id"], None)
                self.acked[event["client_id"]] = event["seq"]
            elif kind == "message":
                self.received[event["seq"]] = event
            elif kind == "history":
                for message in event["messages"]:
                    self.received[message["seq"]] = message
                if event["more"]:
                    await socket.send(json.dumps({"type": "resume", "after_seq": event["last_seq"]}))
            elif kind == "error":
                self.errors.append(event)
                if event.get("client_id"):
                    flushed.discard(event["client_id"])  # sent again on the next loop
                    await asyncio.sleep(0.5)

    async def catch_up(self) -> None:
        """A fresh connection that resumes from 0: what the visitor sees after recovery."""
        async with connect(self.site.ws_url(self.daphne), origin=self.site.origin(self.daphne), proxy=None) as socket:
            await socket.send(json.dumps({"type": "hello", "token": self.token}))
            after = 0
            while True:
                event = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if event["type"] == "welcome":
                    await socket.send(json.dumps({"type": "resume", "after_seq": after}))
                elif event["type"] == "history":
                    for message in event["messages"]:
                        self.received[message["seq"]] = message
                    if not event["more"]:
                        return
                    await socket.send(json.dumps({"type": "resume", "after_seq": event["last_seq"]}))
