"""What one bot answer costs, in CPU: the number behind the README's sizing estimate.

Runs the visitor pipeline (store the message, trigger rules, retrieval, the answer, its insert) for
N questions in this process against the demo knowledge base, and reports per answer the wall time
and this thread's CPU time (time.thread_time: what the answer costs the machine, even when other
work shares it). No sockets, no channel layer sends worth counting (in-memory layer).

    HANDOFF_DATA_DIR=var/bench-chat .venv/bin/python bench/bench_answer_cost.py [--questions 200]

(bench_bot_latency.py prepares that data dir: migrated, demo company loaded.) Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HANDOFF_DATA_DIR", str(ROOT / "var" / "bench-chat"))
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from bench.bench_bot_latency import QUESTIONS  # noqa: E402
from chat.models import Message  # noqa: E402
from chat.services import conversation_start, message_create  # noqa: E402
from widget.answering import visitor_message_answer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    walls, cpus, customers = [], [], []
    for index in range(args.questions + 5):
        conversation = conversation_start()
        customers.append(conversation.customer)
        wall, cpu = time.perf_counter(), time.thread_time()
        message, _ = message_create(
            conversation=conversation, sender=Message.Sender.VISITOR, text=QUESTIONS[index % len(QUESTIONS)]
        )
        visitor_message_answer(message_id=message.pk)
        if index >= 5:  # the first few load the model and warm the caches
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.thread_time() - cpu) * 1000)
    for customer in customers:
        customer.delete()
    cpus.sort()
    print(
        json.dumps(
            {
                "benchmark": "CPU per bot answer (store + rules + retrieval + answer + insert), one thread",
                "questions": args.questions,
                "load_average_1m": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "wall_ms_p50": round(statistics.median(walls), 1),
                "cpu_ms_p50": round(statistics.median(cpus), 1),
                "cpu_ms_p95": round(cpus[int(0.95 * (len(cpus) - 1))], 1),
                "cpu_ms_mean": round(statistics.mean(cpus), 1),
                "answers_per_core_second": round(1000 / statistics.mean(cpus), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
