"""`manage.py kb_import FILE.csv|FILE.json`: load an FAQ into the knowledge base and embed it now.

One article per distinct value of the article column (body = its answer), each question an example
question. Re-importing the same file updates in place. Other column names via the options, e.g.
the Bitext customer-support set:

    manage.py kb_import bitext_support_6k_with_responses.csv \
        --article-column intent --question-column instruction --answer-column response
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from knowledge.classifier import classifier_train
from knowledge.importers import Columns, faq_entries_from_file, faq_import
from knowledge.models import Source
from knowledge.services import KnowledgeError, articles_embed, knowledge_base_clear


class Command(BaseCommand):
    help = "Import an FAQ (CSV columns article,question,answer, or JSON) into the knowledge base and embed it."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--replace", action="store_true", help="delete the whole knowledge base first")
        parser.add_argument("--article-column", default="article")
        parser.add_argument("--question-column", default="question")
        parser.add_argument("--answer-column", default="answer")
        parser.add_argument("--source-name", help="the Source to import into (default: the file name)")

    def handle(self, *args, file: Path, replace: bool, source_name: str | None, **options):
        if not file.is_file():
            raise CommandError(f"{file} does not exist")
        columns = Columns(
            article=options["article_column"], question=options["question_column"], answer=options["answer_column"]
        )
        started = time.perf_counter()
        try:
            entries = faq_entries_from_file(name=file.name, data=file.read_bytes(), columns=columns)
        except KnowledgeError as error:
            raise CommandError(str(error)) from error

        with transaction.atomic():
            if replace:
                knowledge_base_clear()
            source, _ = Source.objects.get_or_create(name=source_name or file.name, defaults={"kind": Source.Kind.FAQ})
            result = faq_import(source=source, entries=entries)
        questions = sum(len(entry.questions) for entry in entries)
        self.stdout.write(f"Imported {len(entries)} articles with {questions} example questions: {result}")

        embed_started = time.perf_counter()
        embedded = articles_embed(
            articles=list(source.articles.select_related("source").prefetch_related("example_questions")),
            progress_source=source,
        )
        source.status = Source.Status.DONE
        source.save(update_fields=["status", "updated_at"])
        self.stdout.write(f"Embedded {embedded} articles in {time.perf_counter() - embed_started:.1f}s")

        train_started = time.perf_counter()
        classifier = classifier_train()
        if classifier is not None:
            self.stdout.write(
                f"Trained the article classifier on {classifier.example_count} questions "
                f"in {time.perf_counter() - train_started:.1f}s"
            )
        self.stdout.write(self.style.SUCCESS(f"Done in {time.perf_counter() - started:.1f}s"))
