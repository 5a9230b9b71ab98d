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
import resource
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


# --- CPU accounting -------------------------------------------------------------------------------


def _process_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, its live children and the children it has reaped (Celery's pool
    processes, PostgreSQL's backends)."""
    import psutil

    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in process.children(recursive=True):
            try:
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def postmaster_pid() -> int | None:
    data_dir = Path(os.environ.get("HANDOFF_DATA_DIR", ROOT / "var" / "bench-chat"))
    try:
        return int((data_dir.resolve() / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU seconds each part spends over the measured phase: load-independent, unlike latencies.

    `parts` maps a name to pids (each counted with its children); "clients" is this process, the
    simulated visitors; "postgres" the embedded server with its backends."""

    def __init__(self, parts: dict[str, list[int]]) -> None:
        pg = postmaster_pid()
        self.parts = {**parts, **({"postgres": [pg]} if pg else {})}

    def _read(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        now = {"clients": usage.ru_utime + usage.ru_stime}
        for name, pids in self.parts.items():
            now[name] = sum(_process_cpu_seconds(pid) for pid in pids)
        return now

    def __enter__(self) -> CpuMeter:
        self.started, self.start = time.perf_counter(), self._read()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.started
        end = self._read()
        self.seconds = {name: end[name] - self.start[name] for name in end}

    def report(self, answers: int) -> dict:
        total = sum(self.seconds.values())
        return {
            "cores_busy": {name: round(s / self.wall, 2) for name, s in {**self.seconds, "total": total}.items()},
            "cpu_ms_per_answer": {
                name: round(1000 * s / answers, 1) for name, s in {**self.seconds, "total": total}.items()
            }
            if answers
            else {},
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


def start_workers(
    redis_url: str,
    count: int,
    log_dir: Path,
    answer_in: str = "workers",
    extra: list[str] = (),
    concurrency: int = 1,
) -> list[subprocess.Popen]:
    """Celery workers (answering visitors with answer_in="workers"), prefork with `concurrency` children each."""
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = []
    for index in range(count):
        log = open(log_dir / f"worker-{index}.log", "wb")  # noqa: SIM115 - closed with the process
        celery = str(Path(sys.executable).with_name("celery"))
        command = [celery, "-A", "config", "worker", f"--concurrency={concurrency}"]
        command += ["--without-gossip", "--without-mingle", "--loglevel=WARNING", f"--hostname=bench-{index}@%h"]
        command += extra
        env = server_env(redis_url, answer_in)
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    time.sleep(8)  # the workers connect and import the app (the first answer loads the model, in the warm-up)
    return processes


def stop_all(children: list[subprocess.Popen | None]) -> None:
    """Terminate, and kill what has not stopped within 15 s (a worker finishing queued work)."""
    children = [child for child in children if child is not None]
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


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


async def run_visitors(
    base_url: str,
    visitors: int,
    questions: int,
    think: float,
    cpu_parts: dict[str, list[int]] | None = None,
    warmups: int = 1,
) -> dict:
    warmup = empty_results()
    # One warm-up question per answering process at once (each loads the embedding model on its first):
    # a busy worker takes no second task (prefetch 1), so each gets one.
    await asyncio.gather(*(Visitor(base_url).run(QUESTIONS[:1], warmup, 0) for _ in range(warmups)))
    results = empty_results()
    plans = [[QUESTIONS[(v + q) % len(QUESTIONS)] for q in range(questions)] for v in range(visitors)]
    started = time.perf_counter()
    with CpuMeter(cpu_parts or {}) as cpu:
        await asyncio.gather(*(Visitor(base_url).run(plan, results, think) for plan in plans))
    wall = time.perf_counter() - started
    return {
        # CPU seconds over the measured phase per part (clients: this process, the simulated visitors),
        # per answer and as cores kept busy; tasks still queued at the end (sentiment) are not in them.
        "cpu": cpu.report(len(results["answer"])),
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
        "warmup_answer_ms": round(max(warmup["answer"]), 1) if warmup["answer"] else None,
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
    parser.add_argument(
        "--workers",
        type=int,
        help="Celery workers to start (default 1 with --answer-in workers, as `manage.py serve` runs on a box; "
        "else 0: sentiment tasks then stay queued)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        help="prefork processes per worker (default: the cores shared out among the workers, at least 1)",
    )
    parser.add_argument("--worker-args", default="", help="extra `celery worker` arguments, e.g. '--pool=solo'")
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 1 if args.answer_in == "workers" else 0
    if args.concurrency is None:
        args.concurrency = max(1, (os.cpu_count() or 1) // max(1, args.workers))
    if args.questions > 10 and not args.think:
        parser.error("more than 10 questions per visitor hits the 10-per-10-seconds rate limit; add --think")

    process, workers = None, []
    base_url = args.url
    if base_url is None:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()  # no tasks left queued by an earlier run
        prepare_database()
        logs = ROOT / "var" / "bench-logs"
        if args.workers:
            workers = start_workers(
                args.redis_url, args.workers, logs, args.answer_in, args.worker_args.split(), args.concurrency
            )
        process, base_url = start_daphne(args.redis_url, logs / "daphne-bot-latency.log", args.answer_in)
    cpu_parts = {"daphne": [process.pid]} if process else {}
    warmups = args.workers * args.concurrency if args.answer_in == "workers" else 1
    if workers:
        cpu_parts["workers"] = [worker.pid for worker in workers]
    try:
        numbers = asyncio.run(run_visitors(base_url, args.visitors, args.questions, args.think, cpu_parts, warmups))
    finally:
        stop_all([process, *workers])
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
                "workers": args.workers if not args.url else 0,
                "processes_per_worker": args.concurrency if args.workers and not args.url else 0,
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
