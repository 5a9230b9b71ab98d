"""Scale-out on one machine: 2 Daphne processes and 2 Celery workers answering (HANDOFF_ANSWER_IN_WORKERS=1)
over one Redis and the embedded PostgreSQL, visitors spread over both web processes.

Reports throughput (answers per second, acks and answers as bench_bot_latency measures them) and checks
correctness in the database afterwards: every acknowledged visitor message stored exactly once, and
every one answered or handed off (none left unhandled).

    .venv/bin/python bench/bench_scale_out.py [--visitors 40] [--questions 5] [--redis-url redis://127.0.0.1:6379/12]

Prints one JSON object. Loopback traffic only; it starts and stops its own processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_bot_latency import (  # noqa: E402
    QUESTIONS,
    CpuMeter,
    Visitor,
    empty_results,
    prepare_database,
    server_env,
    start_daphne,
    start_workers,
    stop_all,
    summary,
)

WEB_PROCESSES, WORKERS = 2, 2


def database():
    """The benchmark's database, read from this process once the servers have written it."""
    os.environ.update({k: v for k, v in server_env(None).items() if k.startswith(("HANDOFF_", "DJANGO_"))})
    import django

    django.setup()
    from chat.models import Message

    return Message


async def visitors_on(
    urls: list[str], visitors: int, questions: int, cpu_parts: dict[str, list[int]]
) -> tuple[dict, dict, float, dict]:
    warmup = empty_results()  # one question per web process first
    for index, url in enumerate(urls):
        await Visitor(url).run(QUESTIONS[index : index + 1], warmup, 0)
    results = empty_results()
    plans = [[QUESTIONS[(v + q) % len(QUESTIONS)] for q in range(questions)] for v in range(visitors)]
    started = time.perf_counter()
    with CpuMeter(cpu_parts) as cpu:
        await asyncio.gather(*(Visitor(urls[v % len(urls)]).run(plan, results, 0) for v, plan in enumerate(plans)))
    return warmup, results, time.perf_counter() - started, cpu.report(len(results["answer"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=40)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    prepare_database()
    message = database()
    first_id = (message.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    logs = ROOT / "var" / "bench-logs"
    workers = start_workers(args.redis_url, WORKERS, logs)
    webs = [start_daphne(args.redis_url, logs / f"daphne-scale-out-{n}.log", "workers") for n in range(WEB_PROCESSES)]
    try:
        cpu_parts = {"daphnes": [process.pid for process, _ in webs], "workers": [worker.pid for worker in workers]}
        urls = [url for _, url in webs]
        warmup, results, wall, cpu = asyncio.run(visitors_on(urls, args.visitors, args.questions, cpu_parts))
        time.sleep(3)  # anything still in flight settles (sentiment scoring, a last answer)
    finally:
        stop_all([*(process for process, _ in webs), *workers])

    this_run = message.objects.filter(id__gte=first_id, sender="visitor")
    stored = this_run.count()
    duplicated = stored - this_run.values("conversation_id", "client_id").distinct().count()
    unhandled = this_run.filter(handled_at__isnull=True).count()
    print(
        json.dumps(
            {
                "benchmark": "scale-out: 2 Daphne + 2 Celery workers on one machine",
                "visitors": args.visitors,
                "questions_per_visitor": args.questions,
                "load_average_1m": round(os.getloadavg()[0], 2),
                # The warm-up questions count here too: they are this run's messages as well.
                "acked": len(warmup["ack"]) + len(results["ack"]),
                "stored": stored,
                "stored_twice": duplicated,
                "unhandled": unhandled,
                "answered": len(warmup["answer"]) + len(results["answer"]),
                "handed_off_by_rules": results["handed_off"],
                "errors": results["errors"],
                "wall_seconds": round(wall, 2),
                "answers_per_second": round(len(results["answer"]) / wall, 1),
                "send_to_ack": summary(results["ack"]),
                "send_to_bot_answer": summary(results["answer"]),
                "cpu": cpu,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
