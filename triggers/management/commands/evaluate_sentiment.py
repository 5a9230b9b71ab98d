"""`manage.py evaluate_sentiment FILE.csv`: the product's sentiment scorer on a labelled file.

Prints {"n", "negative_precision", "negative_recall", "negative_f1", "macro_f1", "accuracy"} as JSON.
(The shared `evaluate sentiment` command will call triggers.evaluation the same way.)
"""

import json

from django.core.management.base import BaseCommand, CommandError

from triggers.evaluation import EvaluationFileError, evaluate_sentiment, read_sentiment_csv


class Command(BaseCommand):
    help = "Score a text,label CSV (negative/neutral/positive) with the product's sentiment scorer."

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV with text,label rows")

    def handle(self, *args, path: str, **options):
        try:
            rows = read_sentiment_csv(path)
        except (OSError, EvaluationFileError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(evaluate_sentiment(rows)))
