"""Build knowledge/data/foreign_questions.json: questions a knowledge base is not expected to answer.

    .venv/bin/python bench/build_foreign_questions.py [--data $HANDOFF_BENCH_DATA]

The admin trade-off view (knowledge.tradeoff_estimate) needs questions the bot should decline, to
estimate on a manager's own knowledge base how many of them it would answer at each threshold. They
come from /work/shared/data and never from an evaluation set:

  * CLINC150 oos_train: the 100 out-of-scope questions of its training split (oos_val is evaluation data);
  * CLINC150 train: 4 questions from each of its 150 intents (banking, travel, cooking, small talk...),
    other businesses' questions for most shops;
  * Bitext customer support (the 6k file the handoff benchmark imports as a knowledge base; its 8k
    utterances are the evaluation set): 4 questions from each of its 27 intents.

Each question keeps its group (intent). A knowledge base that covers a group (a bank's knowledge base
and CLINC150's banking intents) drops it when the estimate runs, so its own topics never count as foreign.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import DATA  # noqa: E402

OUT = ROOT / "knowledge" / "data" / "foreign_questions.json"
SEED = 20240601
PER_GROUP = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    clinc = json.loads((args.data / "clinc150" / "clinc150_train_val.json").read_text(encoding="utf-8"))
    rows = [{"text": text, "group": "clinc150:oos"} for text, _label in clinc["oos_train"]]

    def sample(by_group: dict[str, list[str]], prefix: str) -> None:
        for group in sorted(by_group):
            texts = sorted(set(by_group[group]))
            for i in sorted(rng.permutation(len(texts))[:PER_GROUP]):
                rows.append({"text": texts[i], "group": f"{prefix}:{group}"})

    by_intent: dict[str, list[str]] = {}
    for text, intent in clinc["train"]:
        by_intent.setdefault(intent, []).append(text)
    sample(by_intent, "clinc150")
    by_intent = {}
    with open(args.data / "bitext" / "bitext_support_6k_with_responses.csv", encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            by_intent.setdefault(row["intent"], []).append(row["instruction"])
    sample(by_intent, "bitext")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"seed": SEED, "questions": rows}, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(rows)} questions in {len({r['group'] for r in rows})} groups -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
