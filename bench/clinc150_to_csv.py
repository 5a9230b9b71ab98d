"""Convert CLINC150 (Larson et al. 2019) into the CSVs of `kb_import` and `evaluate answers`.

    .venv/bin/python bench/clinc150_to_csv.py [--data $HANDOFF_BENCH_DATA/clinc150] [--out var/bench]

writes clinc150_train.csv (article=intent, question=text, answer=a short generic answer per
intent; 150 articles, 15,000 example questions), clinc150_eval.csv (val + oos_val: text,
expected_article, empty for out of scope) and clinc150_oos_train.csv (oos_train, for calibration).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import DATA  # noqa: E402


def answer_for(intent: str) -> str:
    return f"This is the help article for: {intent.replace('_', ' ')}."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DATA / "clinc150")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args()
    splits = json.loads((args.data / "clinc150_train_val.json").read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)

    with (args.out / "clinc150_train.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["article", "question", "answer"])
        for text, intent in splits["train"]:
            writer.writerow([intent, text, answer_for(intent)])

    def write_eval(name: str, rows: list[list[str]]) -> None:
        with (args.out / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "expected_article"])
            for text, intent in rows:
                writer.writerow([text, "" if intent == "oos" else intent])

    write_eval("clinc150_eval.csv", splits["val"] + splits["oos_val"])
    write_eval("clinc150_oos_train.csv", splits["oos_train"])
    print(
        f"train: {len(splits['train'])} questions; eval: {len(splits['val'])} in scope + "
        f"{len(splits['oos_val'])} out of scope -> {args.out}"
    )


if __name__ == "__main__":
    main()
