"""`manage.py evaluate answers|handoff|sentiment FILE.csv`: measure the bot before changing it.

- answers:   columns text,expected_article (empty = out of scope); the live bot's decision.
  Prints {"n", "in_scope_accuracy", "oos_recall", "oos_precision", "p50_ms", "p95_ms", "threshold",
  "auroc_in_scope_vs_oos", "auroc_right_vs_decline"} at the configured threshold, after a table of the
  trade-off at other thresholds; --target-oos-recall 0.9 adds "target": the lowest threshold that
  declines 90% of the out-of-scope rows, with its in-scope accuracy.
- handoff:   columns text,should_handoff (1/0), or Bitext's utterance,intent; each text as the
  first message of a fresh conversation through the live pipeline (knowledge base and rules).
  Prints {"n", "precision", "recall", "f1", "p50_ms"}.
- sentiment: columns text,label (negative/neutral/positive); the product's scorer.
  Prints {"n", "negative_precision", "negative_recall", "negative_f1", "macro_f1"}.
The last line printed is always that JSON object; details come on the lines before it.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge.evaluation import evaluate_answers, read_answers_csv
from triggers.evaluation import evaluate_sentiment, read_handoff_csv, read_sentiment_csv
from widget.evaluation import evaluate_handoff

SUMMARY_KEYS = {
    "answers": [
        "n",
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "p50_ms",
        "p95_ms",
        "threshold",
        "auroc_in_scope_vs_oos",
        "auroc_right_vs_decline",
    ],
    "handoff": ["n", "precision", "recall", "f1", "p50_ms"],
    "sentiment": ["n", "negative_precision", "negative_recall", "negative_f1", "macro_f1"],
}


def _share(value: str) -> float:
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"expected a share in (0, 1], e.g. 0.9, not {value!r}")
    return share


class Command(BaseCommand):
    help = "Evaluate the bot: `evaluate answers|handoff|sentiment FILE.csv` (see the module docstring)."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=sorted(SUMMARY_KEYS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--text-column", default="text", help="answers only")
        parser.add_argument("--expected-column", default="expected_article", help="answers only")
        parser.add_argument("--limit", type=int, default=0, help="only the first N rows")
        parser.add_argument("--errors", type=Path, help="answers only: write the wrong decisions to this CSV")
        parser.add_argument(
            "--target-oos-recall",
            type=_share,
            help="answers only: also report the lowest threshold declining this share (0-1] of out-of-scope rows",
        )

    def handle(self, *args, what: str, file: Path, limit: int, **options):
        if not file.is_file():
            raise CommandError(f"{file} does not exist")
        try:
            details = getattr(self, f"evaluate_{what}")(file, limit, options)
        except ValueError as error:  # the evaluation modules' file errors
            raise CommandError(str(error)) from error
        summary = {key: details[key] for key in SUMMARY_KEYS[what]}
        if "target" in details:
            summary["target"] = details["target"]
        self.stdout.write(json.dumps(summary))
        sys.stdout.flush()

    def progress(self, done: int, total: int) -> None:
        self.stderr.write(f"{done}/{total}")

    def evaluate_answers(self, file: Path, limit: int, options: dict) -> dict:
        rows = read_answers_csv(file, text_column=options["text_column"], expected_column=options["expected_column"])
        evaluation = evaluate_answers(
            rows[:limit] if limit else rows, progress=self.progress, target_oos_recall=options["target_oos_recall"]
        )
        if options["errors"]:
            with options["errors"].open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["text", "expected_article", "predicted_article", "confidence"])
                writer.writerows(evaluation.wrong)
        self.stdout.write(
            f"{evaluation.in_scope} in scope, {evaluation.out_of_scope} out of scope, {evaluation.declined} declined; "
            f"{len(evaluation.wrong)} wrong decisions"
        )
        self.stdout.write("threshold  in-scope accuracy  out-of-scope recall  in scope declined  oos answered")
        for point in evaluation.result["sweep"]:
            self.stdout.write(
                f"{point['threshold']:9.2f}  {point['in_scope_accuracy']:17.2%}  {point['oos_recall']:19.2%}"
                f"  {point['in_scope_declined']:17.2%}  {point['oos_answered']:12.2%}"
            )
        return evaluation.result

    def evaluate_handoff(self, file: Path, limit: int, options: dict) -> dict:
        rows = read_handoff_csv(file)
        report = evaluate_handoff(rows[:limit] if limit else rows, progress=self.progress)
        self.stdout.write(json.dumps({"handoff_rate_by_intent": report["handoff_rate_by_intent"]}))
        return report

    def evaluate_sentiment(self, file: Path, limit: int, options: dict) -> dict:
        rows = read_sentiment_csv(file)
        report = evaluate_sentiment(rows[:limit] if limit else rows)
        self.stdout.write(json.dumps(report))
        return report
