"""Bot-reply latency over real WebSockets: N concurrent visitors, each asking several questions.

Measures, per question, the time from sending the `message` frame to receiving the bot's
answer (`message` with sender "bot" and reply_to = the question's seq), plus the ack and the
first sign of life (typing or a streamed delta). Loopback traffic only.

Run from the repo root (it migrates and loads the demo company into its own data dir, then
starts Daphne with the Redis channel layer, unless --url points at a running server):

    HANDOFF_DATA_DIR=var/bench-chat .venv/bin/python bench/bench_bot_latency.py \\
        [--visitors 50] [--questions 5] [--redis-url redis://127.0.0.1:6379/12] [--url http://127.0.0.1:8000]

Prints one JSON object. A warm-up question (the embedding model loads on first use) is
excluded from the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How long does shipping take?",
    "How do I return an item?",
    "Where is my order? How can I track it?",
    "Which payment methods do you accept?",
    "How do I find the right size?",
    "What does the warranty cover?",
    "I forgot my password, how do I reset it?",
    "Do you ship internationally?",
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return round(ordered[rank], 1)


def summary(values: list[float]) -> dict:
    return {
        "p50_ms": percentile(values, 50),
        "p95_ms": percentile(values, 95),
        "max_ms": round(max(values), 1) if values else None,
        "mean_ms": round(statistics.fmean(values), 1) if values else None,
    }


# --- The server ---------------------------------------------------------------------------------


def server_env(redis_url: str | None, answer_in: str = "web") -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HANDOFF_DATA_DIR", str(ROOT / "var" / "bench-chat"))
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0", PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    # Every simulated visitor comes from 127.0.0.1: the per-address budgets would refuse all but a few.
    for budget in ("CONNECT", "CONVERSATION"):
        env.setdefault(f"WIDGET_BUDGET_{budget}", "1000000,1000000,60")
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["HANDOFF_ANSWER_IN_WORKERS"] = "1" if answer_in == "workers" else "0"
    return env


def start_workers(redis_url: str, count: int, log_dir: Path) -> list[subprocess.Popen]:
    """Celery workers answering visitors (HANDOFF_ANSWER_IN_WORKERS=1), prefork with one child each."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = []
    for index in range(count):
        log = open(log_dir / f"worker-{index}.log", "wb")  # noqa: SIM115 - closed with the process
        command = [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "--concurrency=1"]
        command += ["--without-gossip", "--without-mingle", "--loglevel=WARNING", f"--hostname=bench-{index}@%h"]
        env = server_env(redis_url, "workers")
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    time.sleep(8)  # the workers connect and import the app (the first answer loads the model, in the warm-up)
    return processes


def prepare_database() -> None:
    """Migrate and load the demo company (knowledge base included) with eager tasks, no broker needed."""
    env = server_env(None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "load_demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_daphne(redis_url: str, log_path: Path, answer_in: str = "web") -> tuple[subprocess.Popen, str]:
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("daphne")), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=server_env(redis_url, answer_in),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}; see {log_path}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    process.terminate()
    raise TimeoutError("daphne did not start listening within 60 s")


# --- The visitors -----------------------------------------------------------------------------------


class Visitor:
    def __init__(self, base_url: str) -> None:
        self.ws_url = base_url.replace("http", "ws", 1) + "/ws/widget/"
        self.origin = base_url

    async def run(self, questions: list[str], results: dict, think: float) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.ws_url, origin=self.origin, proxy=None, open_timeout=30) as socket:
            self.socket = socket
            await self.send(type="hello", token=None)
            await self.until(lambda e: e["type"] == "welcome")
            if think:  # visitors arrive spread over one think time instead of all at once
                await asyncio.sleep(random.uniform(0, think))
            for number, question in enumerate(questions):
                if await self.ask(question, results, first=number == 0) == "handed_off":
                    break  # a trigger rule passed the visitor to a person: the bot stays silent from here
                if think:
                    await asyncio.sleep(random.uniform(0.5 * think, 1.5 * think))

    async def send(self, **event) -> None:
        await self.socket.send(json.dumps(event))

    async def until(self, predicate, timeout: float = 60.0) -> tuple[dict, float]:
        async with asyncio.timeout(timeout):
            while True:
                event = json.loads(await self.socket.recv())
                if predicate(event):
                    return event, time.perf_counter()

    async def ask(self, question: str, results: dict, *, first: bool = False) -> str:
        client_id = uuid.uuid4().hex
        while True:
            sent = time.perf_counter()
            await self.send(type="message", client_id=client_id, text=question)
            event, at = await self.until(
                lambda e: (e["type"] == "ack" or e["type"] == "error") and e.get("client_id") == client_id
            )
            if event["type"] == "ack":
                break
            if event["code"] != "rate_limited":
                results["errors"].append(event["code"])
                return
            results["rate_limited"] += 1
            await asyncio.sleep(event["retry_after"] or 1)
        seq = event["seq"]
        results["ack"].append((at - sent) * 1000)
        # A first message also starts the conversation (and brings its welcome): counted apart too.
        results["ack_first" if first else "ack_later"].append((at - sent) * 1000)
        first_sign = None
        while True:
            event, at = await self.until(
                lambda e: (
                    (e["type"] == "typing" and e["sender"] == "bot" and e["is_typing"])
                    or e["type"] == "bot_delta"
                    or (e["type"] == "message" and e["sender"] == "bot" and e.get("reply_to") == seq)
                    or (e["type"] == "status" and e["status"] in ("queued", "assigned"))
                )
            )
            if event["type"] == "status":
                results["handed_off"] += 1
                return "handed_off"
            if first_sign is None:
                first_sign = at
            if event["type"] == "message":
                break
        results["first_event"].append((first_sign - sent) * 1000)
        results["answer"].append((at - sent) * 1000)
        results["sourced"] += bool(event.get("sources"))
        results["declined"] += bool(event.get("declined"))
        return "answered"


def empty_results() -> dict:
    return {
        "ack": [], "ack_first": [], "ack_later": [], "first_event": [], "answer": [], "errors": [],
        "rate_limited": 0, "sourced": 0, "declined": 0, "handed_off": 0,
    }  # fmt: skip


async def run_visitors(base_url: str, visitors: int, questions: int, think: float) -> dict:
    warmup = empty_results()
    await Visitor(base_url).run(QUESTIONS[:1], warmup, 0)
    results = empty_results()
    plans = [[QUESTIONS[(v + q) % len(QUESTIONS)] for q in range(questions)] for v in range(visitors)]
    started = time.perf_counter()
    await asyncio.gather(*(Visitor(base_url).run(plan, results, think) for plan in plans))
    wall = time.perf_counter() - started
    return {
        "answers": len(results["answer"]),
        "wall_seconds": round(wall, 2),
        "answers_per_second": round(len(results["answer"]) / wall, 1),
        "send_to_bot_answer": summary(results["answer"]),
        "send_to_ack": summary(results["ack"]),
        "send_to_ack_first_message": summary(results["ack_first"]),
        "send_to_ack_later_messages": summary(results["ack_later"]),
        "send_to_first_bot_event": summary(results["first_event"]),
        "answers_with_sources": results["sourced"],
        "answers_declined": results["declined"],
        "handed_off_by_rules": results["handed_off"],
        "rate_limited_retries": results["rate_limited"],
        "errors": results["errors"],
        "warmup_answer_ms": round(warmup["answer"][0], 1) if warmup["answer"] else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--questions", type=int, default=5, help="questions per visitor, asked one after another")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a visitor reads before the next question (0: ask at once, i.e. saturate the server)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--url", help="benchmark a running server instead of starting one")
    parser.add_argument(
        "--answer-in",
        choices=["web", "workers"],
        default="web",
        help="where the bot answers: the web process's threads, or Celery workers (HANDOFF_ANSWER_IN_WORKERS=1)",
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery workers started with --answer-in workers")
    args = parser.parse_args()
    if args.questions > 10 and not args.think:
        parser.error("more than 10 questions per visitor hits the 10-per-10-seconds rate limit; add --think")

    process, workers = None, []
    base_url = args.url
    if base_url is None:
        prepare_database()
        logs = ROOT / "var" / "bench-logs"
        if args.answer_in == "workers":
            workers = start_workers(args.redis_url, args.workers, logs)
        process, base_url = start_daphne(args.redis_url, logs / "daphne-bot-latency.log", args.answer_in)
    try:
        numbers = asyncio.run(run_visitors(base_url, args.visitors, args.questions, args.think))
    finally:
        for child in [process, *workers]:
            if child is not None:
                child.terminate()
                child.wait(15)
    print(
        json.dumps(
            {
                "benchmark": "bot reply latency over WebSockets",
                "visitors": args.visitors,
                "questions_per_visitor": args.questions,
                "think_seconds": args.think,
                "load_average_1m": round(os.getloadavg()[0], 2),
                "server": base_url if args.url else "daphne (1 process), Redis channel layer, embedded PostgreSQL",
                "answer_in": args.answer_in if not args.url else "server's choice",
                "workers": args.workers if args.answer_in == "workers" and not args.url else 0,
                "llm_provider": os.environ.get("HANDOFF_LLM_PROVIDER", "none"),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                **numbers,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
