"""How well the shipped default rules separate "needs a person" from "the bot can answer".

Run from the repo root (about a minute: it embeds and scores every utterance):

    .venv/bin/python bench/evaluate_trigger_handoff.py [$HANDOFF_BENCH_DATA/bitext/bitext_utterances_8k.csv]

Each utterance goes through the engine alone (triggers.evaluation.evaluate_handoff_engine), as the
first message of a conversation with the bot: the message phase, then the sentiment phase with the
product's scorer. contact_human_agent and complaint should hand off; every other intent should not.

The similarity thresholds of the intent conditions were tuned on the "dev" half (a fixed hash split
of the utterances); the "test" half is reported separately so the tuning's optimism shows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import DATA
from triggers.evaluation import evaluate_handoff_engine, read_handoff_csv


def half(text: str) -> str:
    return "dev" if int(hashlib.md5(text.encode()).hexdigest(), 16) % 2 == 0 else "test"  # a split, not security


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", nargs="?", default=DATA / "bitext" / "bitext_utterances_8k.csv")
    parser.add_argument("--no-sentiment", action="store_true")
    args = parser.parse_args()
    rows = read_handoff_csv(args.path)
    result = {}
    for name, subset in (
        ("all", rows),
        ("dev", [r for r in rows if half(r["text"]) == "dev"]),
        ("test", [r for r in rows if half(r["text"]) == "test"]),
    ):
        result[name] = evaluate_handoff_engine(subset, with_sentiment=not args.no_sentiment)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
