"""Idle widget sockets on one Daphne process: its memory, and whether a new visitor is still answered.

Opens N widget sockets that say hello and then stay idle (as a shop's visitors with the widget
closed), reads Daphne's resident memory (/proc/<pid>/status VmRSS) before and after, then times a
few fresh visitors asking a question (send -> ack, send -> answer) while the idle ones stay open.
Loopback only; starts its own Daphne with the Redis channel layer over the bench database
(bench_bot_latency prepares it).

    .venv/bin/python bench/bench_idle_sockets.py [--sockets 2000] [--redis-url redis://127.0.0.1:6379/12]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_bot_latency import ROOT, prepare_database, start_daphne, start_workers, summary


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


async def idle_socket(url: str, origin: str, opened: asyncio.Event, stop: asyncio.Event, counter: list[int]) -> None:
    async with connect(url, origin=origin, proxy=None, open_timeout=60, ping_interval=None) as socket:
        await socket.send(json.dumps({"type": "hello", "token": None}))
        await socket.recv()  # the welcome
        counter[0] += 1
        opened.set()
        await stop.wait()


async def one_question(url: str, origin: str) -> tuple[float, float]:
    async with connect(url, origin=origin, proxy=None) as socket:
        await socket.send(json.dumps({"type": "hello", "token": None}))
        await socket.recv()
        client_id = uuid.uuid4().hex
        started = time.perf_counter()
        await socket.send(json.dumps({"type": "message", "client_id": client_id, "text": "How do I return an item?"}))
        ack = answer = None
        while answer is None:
            event = json.loads(await asyncio.wait_for(socket.recv(), 60))
            if event["type"] == "ack" and event["client_id"] == client_id:
                ack = time.perf_counter() - started
            elif event["type"] == "message" and event.get("sender") == "bot":
                answer = time.perf_counter() - started
        return ack * 1000, answer * 1000


async def run(base_url: str, pid: int, sockets: int) -> dict:
    url = base_url.replace("http", "ws", 1) + "/ws/widget/"
    await one_question(url, base_url)  # warm-up: the model loads on first use
    before = rss_mb(pid)
    stop, opened, counter = asyncio.Event(), asyncio.Event(), [0]
    tasks = []
    started = time.monotonic()
    for index in range(sockets):
        tasks.append(asyncio.create_task(idle_socket(url, base_url, opened, stop, counter)))
        if index % 100 == 99:
            await asyncio.sleep(0.2)  # connect in waves, as visitors arrive
    while counter[0] < sockets and time.monotonic() - started < 300:
        await asyncio.sleep(0.5)
    open_seconds = time.monotonic() - started
    await asyncio.sleep(2)
    after = rss_mb(pid)
    timings = [await one_question(url, base_url) for _ in range(10)]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "idle_sockets_open": counter[0],
        "seconds_to_open_them": round(open_seconds, 1),
        "daphne_rss_mb_before": before,
        "daphne_rss_mb_with_idle_sockets": after,
        "rss_kb_per_idle_socket": round((after - before) * 1024 / max(counter[0], 1), 1),
        "new_visitor_send_to_ack": summary([ack for ack, _ in timings]),
        "new_visitor_send_to_answer": summary([answer for _, answer in timings]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--answer-in", choices=["web", "workers"], default="web")
    args = parser.parse_args()
    prepare_database()
    logs = ROOT / "var" / "bench-logs"
    workers = start_workers(args.redis_url, 2, logs) if args.answer_in == "workers" else []
    process, base_url = start_daphne(args.redis_url, logs / "daphne-idle-sockets.log", args.answer_in)
    try:
        numbers = asyncio.run(run(base_url, process.pid, args.sockets))
    finally:
        for child in [process, *workers]:
            child.terminate()
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:  # 2,000 sockets take a while to close: do not lose the numbers
                child.kill()
    print(
        json.dumps(
            {
                "benchmark": "idle widget sockets on one Daphne process",
                "answer_in": args.answer_in,
                "load_average_1m": round(os.getloadavg()[0], 2),
                **numbers,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
