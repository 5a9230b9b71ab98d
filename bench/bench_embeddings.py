"""Time nlp.embeddings: ms per sentence, one at a time and in batches.

Run from the repo root:

    .venv/bin/python bench/bench_embeddings.py [--rounds 5]

Prints one JSON object. Model loading is timed separately and excluded from
the per-sentence numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlp import embeddings

# Short customer messages plus a few paragraph-sized tickets, roughly the mix
# the knowledge base will see.
SENTENCES = [
    "Where is my order?",
    "I want to talk to a human",
    "How do I reset my password",
    "Can I get a refund for a damaged item?",
    "Your app keeps crashing when I open the settings page.",
    "What are your opening hours on weekends?",
    "The discount code SPRING20 says it has expired but the email said it is valid until Friday.",
    "I was charged twice for the same subscription this month, please refund one of the payments.",
] * 4
LONG_TICKET = (
    "I placed an order three weeks ago for a standing desk and two monitor arms, the "
    "tracking page has said 'label created' ever since, I have emailed twice without a "
    "reply, and I would now like either a firm delivery date or a full refund."
)


def _ms_per_sentence(texts: list[str], batch_size: int, rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(0, len(texts), batch_size):
            embeddings.embed(texts[i : i + batch_size])
        timings.append((time.perf_counter() - start) * 1000 / len(texts))
    return round(statistics.median(timings), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    embeddings.embed(["warm up"])
    load_ms = (time.perf_counter() - start) * 1000

    short = SENTENCES
    # A knowledge-base reindex: many texts in one call, a quarter of them long.
    corpus = [LONG_TICKET if i % 4 == 0 else text for i, text in enumerate(SENTENCES * 4)]
    result = {
        "model": embeddings.MODEL_ID,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "threads": embeddings._thread_count(),
        "load_ms": round(load_ms, 1),
        "sentences": len(short),
        "single_ms_per_sentence": _ms_per_sentence(short, 1, args.rounds),
        "batch32_ms_per_sentence": _ms_per_sentence(short, 32, args.rounds),
        "corpus_texts": len(corpus),
        "corpus_single_ms_per_text": _ms_per_sentence(corpus, 1, args.rounds),
        "corpus_one_call_ms_per_text": _ms_per_sentence(corpus, len(corpus), args.rounds),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
