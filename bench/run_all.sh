#!/usr/bin/env bash
# Every issue-12 goal's number in one run (`make bench`), with the machine's load beside them.
# Run it in a quiet window: on a busy machine the latencies measure the neighbours.
# Each benchmark prints one JSON object; this prints them in order, headed by the goal.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/12}
export HANDOFF_DATA_DIR=${HANDOFF_DATA_DIR:-$PWD/var/bench-chat}

goal() { echo; echo "== $1"; echo "   (uptime: $(uptime | sed 's/.*load average/load average/'))"; }

goal "Bot reply at ~10 messages/s (50 visitors, 5 s think): p50 <= 30 ms, p95 <= 80 ms (answers in web threads)"
$PY bench/bench_bot_latency.py --visitors 50 --questions 5 --think 5 --redis-url "$REDIS" --answer-in web
goal "... the same with answers in 2 Celery workers (HANDOFF_ANSWER_IN_WORKERS=1, opt-in)"
$PY bench/bench_bot_latency.py --visitors 50 --questions 5 --think 5 --redis-url "$REDIS" --answer-in workers
goal "Saturated (50 visitors, no think time): >= 60 answers/s, ack p95 <= 10 ms (web threads)"
$PY bench/bench_bot_latency.py --visitors 50 --questions 5 --redis-url "$REDIS" --answer-in web
goal "Saturated, answers in 2 Celery workers"
$PY bench/bench_bot_latency.py --visitors 50 --questions 5 --redis-url "$REDIS" --answer-in workers
goal "Handoff request -> inbox p95 <= 50 ms; agent reply -> widget p95 <= 15 ms (3x the group_send floor printed beside it)"
$PY bench/bench_handoff.py --handoffs 200 --redis "${REDIS%/*}/9"
goal "2,000 idle widget sockets on one Daphne: RSS < 1 GB, new visitors still answered"
$PY bench/bench_idle_sockets.py --sockets 2000 --redis-url "$REDIS"
goal "CPU per bot answer (the README's sizing estimate)"
$PY bench/bench_answer_cost.py --questions 200
goal "Retrieval over 100,000 chunks: p95 <= 10 ms, recall@5 >= 0.95 against exact search (builds its own DB once)"
$PY bench/bench_retrieval_scale.py --chunks 100000 --queries 200
goal "Trigger engine at 200 rules: <= 0.5 ms per message"
$PY bench/bench_trigger_engine.py --rules 200 --messages 1200 --rounds 3
goal "Nothing lost under faults (tests/faults: Daphne, a worker, Redis killed mid-traffic; two Daphnes)"
HANDOFF_DATA_DIR="$PWD/var/test" $PY -m pytest tests/faults -q -p no:cacheprovider && cat var/test/logs/faults/table.tsv
