"""Handoff latency over real sockets: Daphne + the Redis channel layer + the embedded PostgreSQL.

Measures, with one agent's inbox open:
  1. visitor handoff request -> the agent's inbox receives the updated queue (200 handoffs),
  2. agent reply (HTTP POST from the inbox) -> the visitor's widget receives it (200 replies).

Run:  .venv/bin/python bench/bench_handoff.py [--handoffs 200] [--redis redis://127.0.0.1:6379/9]
Prints one JSON object. Only loopback traffic; it starts and stops its own Daphne.
"""

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))], 1)


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "max_ms": round(max(values), 1),
        "mean_ms": round(statistics.mean(values), 1),
    }


class ServerCpu:
    """CPU time (user + system) of Daphne and the embedded PostgreSQL (postmaster, its live backends and
    the reaped ones): what one operation costs the server, whatever else the machine is doing."""

    def __init__(self, daphne_pid: int, pgdata: Path) -> None:
        self.daphne_pid = daphne_pid
        self.postmaster_pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        self.ticks = os.sysconf("SC_CLK_TCK")

    def _stat(self, pid: int) -> list[str]:
        text = Path(f"/proc/{pid}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()  # the fields after "(comm)": state is [0]

    def ms(self) -> float:
        ticks = sum(int(field) for field in self._stat(self.daphne_pid)[11:13])
        ticks += sum(int(field) for field in self._stat(self.postmaster_pid)[11:15])  # with reaped children
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = self._stat(int(entry.name))
                except (FileNotFoundError, ProcessLookupError, ValueError):
                    continue
                if int(fields[1]) == self.postmaster_pid:
                    ticks += int(fields[11]) + int(fields[12])
        return ticks * 1000 / self.ticks


def prepare(env: dict) -> tuple[str, int]:
    """Fresh demo data, an agent with room for every conversation, and a signed-in session for her."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from agents.models import Agent, BusinessHours, Team
    from chat.models import Conversation, Customer

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    Customer.objects.all().delete()  # conversations cascade: each run starts with an empty queue
    support = Team.objects.get(slug="support")
    import datetime as dt

    for weekday in range(7):  # the benchmark must not depend on the hour it runs
        BusinessHours.objects.get_or_create(
            team=support, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23, 59, 59)
        )
    user = get_user_model().objects.get(username="dana")
    agent = Agent.objects.get(user=user)
    agent.status = Agent.Status.OFFLINE  # nobody online: handoffs wait in the queue
    agent.max_concurrent = 10_000
    agent.save()
    agent.teams.set([support])
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    assert not Conversation.objects.exists()
    return session.session_key, agent.pk


async def run(port: int, session_key: str, handoffs: int, cpu: ServerCpu) -> dict:
    import httpx
    import websockets

    origin = f"http://127.0.0.1:{port}"
    cookie = f"sessionid={session_key}; csrftoken={'x' * 32}"
    inbox = await websockets.connect(
        f"ws://127.0.0.1:{port}/ws/inbox/",
        origin=origin,
        additional_headers={"Cookie": cookie},
        max_size=None,
        max_queue=None,  # read only in the first phase: see the visitors' sockets below
        ping_interval=None,
    )
    queue_count = re.compile(r'id="queue-count"[^>]*>(\d+)<')  # the whole sidebar, or its counts alone

    async def wait_for_queue(n: int) -> None:
        while True:
            match = queue_count.search(await inbox.recv())
            if match and int(match.group(1)) >= n:
                return

    visitors = []
    request_ms, request_cpu_ms = [], []
    for i in range(1, handoffs + 1):
        # No keepalive pings: on a busy machine a late pong would end the run, not measure it.
        # max_queue=None: a visitor socket is read only when its turn comes, and every accept sends each
        # waiting visitor a queue update; with websockets' default high-water mark (16 frames) the client
        # stops reading the socket, so it no longer answers Daphne's pings either, and Daphne drops it
        # after its ping timeout (30 s): the "connection reset" of the reply phase.
        ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/widget/", origin=origin, ping_interval=None, max_queue=None
        )
        await ws.send(json.dumps({"type": "hello", "token": None}))
        await ws.recv()  # welcome (no conversation yet)
        # A handoff needs something said first (widget budgets: a script cannot fill the queue with empty ones).
        await ws.send(json.dumps({"type": "message", "client_id": f"bench-{i}", "text": "Do you ship to Norway?"}))
        # The bot's answer first: measured while the bot is still thinking, the handoff would time
        # the answer's CPU work on the same two cores, not the handoff's path.
        while json.loads(await ws.recv()).get("sender") != "bot":
            pass
        cpu_before = cpu.ms()
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "handoff_request"}))
        await asyncio.wait_for(wait_for_queue(i), 30)
        request_ms.append((time.perf_counter() - started) * 1000)
        request_cpu_ms.append(cpu.ms() - cpu_before)
        visitors.append(ws)

    # The agent accepts the first 50 and answers each 4 times; the visitor's widget must get each reply.
    from chat.models import Conversation

    # This run's conversations, in the order the visitors opened them (earlier runs' stay in the data dir).
    ids = await asyncio.to_thread(
        lambda: list(Conversation.objects.order_by("-id").values_list("id", flat=True)[:handoffs])[::-1]
    )
    reply_ms, reply_cpu_ms = [], []
    headers = {
        "Cookie": cookie,
        "X-CSRFToken": "x" * 32,
        "HX-Request": "true",
        "Origin": origin,
        "Referer": origin + "/",
    }
    async with httpx.AsyncClient(base_url=origin, headers=headers, timeout=30) as http:
        for index, conversation_id in enumerate(ids[:50]):
            response = await http.post(f"/inbox/c/{conversation_id}/accept/")
            assert response.status_code == 204, response.text
            ws = visitors[index]
            for n in range(4):
                text = f"reply {n} to {conversation_id}"
                cpu_before = cpu.ms()
                started = time.perf_counter()
                response = await http.post(f"/inbox/c/{conversation_id}/reply/", data={"text": text})
                assert response.status_code == 204, response.text
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if event.get("type") == "message" and event.get("text") == text:
                        reply_ms.append((time.perf_counter() - started) * 1000)
                        reply_cpu_ms.append(cpu.ms() - cpu_before)
                        break
    for ws in visitors:
        await ws.close()
    await inbox.close()
    return {
        "handoff_request_to_inbox": summary(request_ms),
        "agent_reply_to_visitor": summary(reply_ms),
        # Daphne + PostgreSQL CPU per operation (clock ticks of 10 ms, so the mean is the figure to read).
        "server_cpu_ms": {
            "handoff_request_to_inbox": round(statistics.mean(request_cpu_ms), 1),
            "agent_reply_to_visitor": round(statistics.mean(reply_cpu_ms), 1),
        },
    }


def bench_env(redis_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "HANDOFF_DATA_DIR": str(ROOT / "var" / "bench-handoff"),
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        # The visitor's pipeline (the handoff request included) in Daphne's bot threads: no worker runs here.
        "HANDOFF_ANSWER_IN_WORKERS": "0",
        # Every simulated visitor is 127.0.0.1: the per-address budgets (widget/budgets.py) would refuse them.
        **{f"WIDGET_BUDGET_{kind}": "1000000,1000000,60" for kind in ("CONNECT", "CONVERSATION", "HANDOFF")},
    }


def start_daphne(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, int]:
    """A Daphne on a free port. Tasks go to Redis (no worker needed for these paths): Daphne with eager
    tasks would run sentiment scoring inline, which a production web process does not."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(log_path, "wb")  # noqa: SIM115 - the child keeps it; closed when this process exits
    daphne = subprocess.Popen(
        [str(Path(sys.executable).with_name("daphne")), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(600):  # up to a minute: Daphne starts slowly on a busy machine
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return daphne, port
        except OSError:
            time.sleep(0.1)
    daphne.terminate()
    raise TimeoutError(f"Daphne did not listen on {port} within a minute; see {log_path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--handoffs", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    env = bench_env(args.redis)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    session_key, _ = prepare(env)
    daphne, port = start_daphne(env, ROOT / "var" / "bench-handoff" / "daphne.log")
    try:
        cpu = ServerCpu(daphne.pid, Path(env["HANDOFF_DATA_DIR"]) / "pgdata")
        result = asyncio.run(run(port, session_key, args.handoffs, cpu))
        floor = asyncio.run(group_send_floor(args.redis))
    finally:
        daphne.terminate()
        daphne.wait(10)
    print(
        json.dumps(
            {
                "handoffs": args.handoffs,
                "channel_layer": "redis",
                "load_average_1m": round(os.getloadavg()[0], 2),
                **result,
                # One group_send to a listening channel and its receive, on the same Redis, in this run:
                # the floor under "agent reply -> widget" (goal: that p95 <= 3x this p50).
                "group_send_floor": floor,
            }
        )
    )


async def group_send_floor(redis_url: str, rounds: int = 200) -> dict:
    from config.redis_layer import ResilientRedisChannelLayer

    layer = ResilientRedisChannelLayer(hosts=[redis_url])
    channel = await layer.new_channel()
    await layer.group_add("bench_floor", channel)
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        await layer.group_send("bench_floor", {"type": "chat.message", "event": {"seq": 1}})
        await layer.receive(channel)
        timings.append((time.perf_counter() - started) * 1000)
    await layer.flush()
    return summary(timings)


if __name__ == "__main__":
    main()
