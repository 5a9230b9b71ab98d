"""What one bot answer costs, in CPU: the number behind the README's sizing estimate.

Runs the visitor pipeline (store the message, trigger rules, retrieval, the answer, its insert) for
N questions in this process against the demo knowledge base, and reports per answer the wall time
and CPU time, which other work sharing the machine does not change much: this thread's
(time.thread_time), the whole process's (adds the embedding model's second intra-op thread), and the
PostgreSQL backend's that served it (from /proc: the queries' cost on the server side). No sockets, no
channel layer sends worth counting (in-memory layer). Sentiment scoring runs eagerly, inline. The
process's memo of recent embeddings is emptied before each question: the benchmark's few questions
repeat, real visitors' rarely do.

    HANDOFF_DATA_DIR=var/bench-chat .venv/bin/python bench/bench_answer_cost.py [--questions 200]

(bench_bot_latency.py prepares that data dir: migrated, demo company loaded.) Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.bench_bot_latency import QUESTIONS  # noqa: E402
from chat.models import Message  # noqa: E402
from chat.services import conversation_start, message_create  # noqa: E402
from nlp.embeddings import recent_texts_forget  # noqa: E402
from widget.answering import visitor_message_answer  # noqa: E402


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def database_cpu(backend_pid: int) -> float:
    """CPU seconds of this connection's PostgreSQL backend (utime + stime, from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    walls, cpus, customers = [], [], []
    conversation_start()  # opens the connection, so its backend is the one every answer uses
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend_pid,) = cursor.fetchone()
    counted, process_started, database_started = 0, 0.0, 0.0
    for index in range(args.questions + 5):
        if index == 5:  # the first few load the model and warm the caches
            process_started, database_started = process_cpu(), database_cpu(backend_pid)
        conversation = conversation_start()
        customers.append(conversation.customer)
        # The questions repeat, real ones mostly don't: each pays for its embedding, as in production.
        recent_texts_forget()
        wall, cpu = time.perf_counter(), time.thread_time()
        message, _ = message_create(
            conversation=conversation, sender=Message.Sender.VISITOR, text=QUESTIONS[index % len(QUESTIONS)]
        )
        visitor_message_answer(message_id=message.pk)
        if index >= 5:
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.thread_time() - cpu) * 1000)
            counted += 1
    with CaptureQueriesContext(connection) as queries:  # one more, untimed: its queries, a load-free figure
        conversation = conversation_start()
        customers.append(conversation.customer)
        message, _ = message_create(conversation=conversation, sender=Message.Sender.VISITOR, text=QUESTIONS[0])
        visitor_message_answer(message_id=message.pk)
    # Per answer, over all counted ones (conversation_start included: a few inserts).
    process_ms = (process_cpu() - process_started) * 1000 / counted
    database_ms = (database_cpu(backend_pid) - database_started) * 1000 / counted
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
                "queries_per_answer": len(queries.captured_queries),
                "process_cpu_ms_mean": round(process_ms, 1),
                "database_cpu_ms_mean": round(database_ms, 1),
                "process_and_database_cpu_ms_mean": round(process_ms + database_ms, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
