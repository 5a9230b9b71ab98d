"""`manage.py evaluate answers FILE.csv`: run questions through the live bot's decision and score it.

The CSV has a `text` column and an `expected_article` column (an article's title or external key,
as `kb_import` creates them; empty = out of scope, the bot should decline and offer a person).
Each text goes through knowledge.answers.answer_decide, the exact decision answer_question makes.
The last line printed is one JSON object:
{"n", "in_scope_accuracy", "oos_recall", "oos_precision", "p50_ms", "p95_ms"}.
In-scope accuracy counts a declined in-scope question as wrong.
"""

import csv
import json
import statistics
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Evaluate the bot. `evaluate answers FILE.csv` (columns text,expected_article; empty = out of scope)."

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["answers"])
        parser.add_argument("file", type=Path)
        parser.add_argument("--text-column", default="text")
        parser.add_argument("--expected-column", default="expected_article")
        parser.add_argument("--limit", type=int, default=0, help="only the first N rows")
        parser.add_argument("--errors", type=Path, help="write the wrong decisions to this CSV")

    def handle(self, *args, file: Path, text_column: str, expected_column: str, limit: int, **options):
        from knowledge.answers import answer_decide
        from knowledge.models import Article

        if not file.is_file():
            raise CommandError(f"{file} does not exist")
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {text_column, expected_column} - set(reader.fieldnames or [])
            if missing:
                raise CommandError(f"{file} has no column(s) {sorted(missing)}; found {reader.fieldnames}")
            rows = [(row[text_column], (row[expected_column] or "").strip()) for row in reader]
        if limit:
            rows = rows[:limit]
        if not rows:
            raise CommandError(f"{file} has no rows")

        names: dict[int, set[str]] = {}
        for pk, title, key in Article.objects.values_list("pk", "title", "external_key"):
            names[pk] = {title.strip().lower(), key.strip().lower()} - {""}

        answer_decide(question="warm-up")  # loads the embedding model and the classifier; not timed
        timings, wrong = [], []
        in_scope = in_scope_right = oos = oos_declined = declined = 0
        for number, (text, expected) in enumerate(rows, start=1):
            started = time.perf_counter()
            decision = answer_decide(question=text)
            timings.append((time.perf_counter() - started) * 1000)
            declined += decision.declined
            if expected:
                in_scope += 1
                right = not decision.declined and expected.lower() in names.get(decision.article_id, set())
                in_scope_right += right
            else:
                oos += 1
                oos_declined += decision.declined
                right = decision.declined
            if not right:
                predicted = "" if decision.declined else sorted(names.get(decision.article_id, {"?"}))[0]
                wrong.append((text, expected, predicted, round(decision.confidence, 4)))
            if number % 500 == 0:
                self.stderr.write(f"{number}/{len(rows)}")

        if options["errors"]:
            with options["errors"].open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["text", "expected_article", "predicted_article", "confidence"])
                writer.writerows(wrong)

        timings.sort()
        result = {
            "n": len(rows),
            "in_scope_accuracy": round(in_scope_right / in_scope, 4) if in_scope else 0.0,
            "oos_recall": round(oos_declined / oos, 4) if oos else 0.0,
            "oos_precision": round(oos_declined / declined, 4) if declined else 0.0,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[min(len(timings) - 1, int(0.95 * len(timings)))], 1),
        }
        self.stdout.write(
            f"{in_scope} in scope, {oos} out of scope, {declined} declined; {len(wrong)} wrong decisions", ending="\n"
        )
        self.stdout.write(json.dumps(result))
        sys.stdout.flush()
