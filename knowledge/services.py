"""Writes to the knowledge base: upserting articles, embedding them, queueing a source's ingestion
(knowledge.ingestion runs it, in a worker).

Embedding is batch-oriented (one `embed()` call for many articles, bulk writes), because an FAQ
import of 15,000 example questions must not take 15,000 round trips.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from knowledge import conf
from knowledge.chunking import split_text
from knowledge.links import is_safe_link
from knowledge.models import Article, ArticleClassifier, Chunk, ExampleQuestion, Source
from knowledge.question_generation import questions_generate
from knowledge.tasks import embed_article as embed_article_task
from knowledge.tasks import ingest_source as ingest_source_task
from knowledge.tasks import reembed_source as reembed_source_task
from knowledge.tasks import train_classifier as train_classifier_task
from nlp.embeddings import embed
from nlp.llm import get_chat_model

# Texts embedded per embed() call during a bulk embedding; progress is saved after each.
EMBED_BATCH = 2048


class KnowledgeError(Exception):
    """A knowledge-base operation that cannot go ahead, with a message a person can act on."""


@dataclass
class IngestResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    unpublished: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.unpublished:
            text += f", {self.unpublished} unpublished (gone from the source)"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return text


def article_content_hash(*, title: str, body: str, questions: Iterable[str]) -> str:
    """Hash of everything that goes into an article's vectors (see Article.content_hash)."""
    digest = hashlib.sha256()
    for part in (title.strip(), body.strip(), *sorted({q.strip() for q in questions if q.strip()})):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def article_current_hash(*, article: Article) -> str:
    questions = article.example_questions.values_list("text", flat=True)
    return article_content_hash(title=article.title, body=article.body, questions=questions)


def article_needs_embedding(*, article: Article) -> bool:
    return article.embedded_at is None or article.content_hash != article_current_hash(article=article)


def article_upsert(
    *,
    source: Source | None,
    external_key: str,
    title: str,
    body: str,
    url: str = "",
    tags: Sequence[str] = (),
    questions: Sequence[str] = (),
    sync_questions: bool = True,
) -> tuple[Article, str]:
    """Create or update the article `external_key` of `source`; returns it and "created"/"updated"/"unchanged".

    With `sync_questions` the article's example questions become exactly `questions` (an import
    is the whole truth for its articles); otherwise `questions` are only added.
    """
    if url and not is_safe_link(url):
        raise KnowledgeError(f"{url[:80]!r} is neither an http(s) URL nor a path on your site; it cannot be a link")
    questions = list(dict.fromkeys(q.strip()[:500] for q in questions if q and q.strip()))
    title = title.strip()[:300] or external_key[:300]
    article = Article.objects.filter(source=source, external_key=external_key).first() if external_key else None
    if article is None:
        article = Article.objects.create(
            source=source, external_key=external_key, title=title, body=body, url=url, tags=list(tags)
        )
        ExampleQuestion.objects.bulk_create([ExampleQuestion(article=article, text=q) for q in questions])
        return article, "created"

    changed = False
    for name, value in (("title", title), ("body", body), ("url", url), ("tags", list(tags))):
        if getattr(article, name) != value:
            setattr(article, name, value)
            changed = True
    # Generated questions are not the import's to remove: articles_embed rebuilds or drops them.
    existing = set(article.example_questions.filter(generated=False).values_list("text", flat=True))
    wanted = set(questions)
    if sync_questions and existing - wanted:
        article.example_questions.filter(generated=False, text__in=existing - wanted).delete()
        changed = True
    # A typed question that was generated before is now the article's own.
    if article.example_questions.filter(generated=True, text__in=wanted).update(generated=False):
        changed = True
        existing |= set(article.example_questions.filter(generated=False).values_list("text", flat=True))
    if wanted - existing:
        ExampleQuestion.objects.bulk_create(
            [ExampleQuestion(article=article, text=q) for q in questions if q not in existing],
            ignore_conflicts=True,
        )
        changed = True
    if changed:
        article.save()
    return article, "updated" if changed else "unchanged"


def articles_embed(*, articles: Sequence[Article], force: bool = False, progress_source: Source | None = None) -> int:
    """(Re)build chunks and example-question vectors of `articles` whose content changed; returns how many.

    `force` re-embeds unchanged articles too (after a model change). Progress is written to
    `progress_source` as articles done / total.
    """
    pending: list[tuple[Article, list[str], list[ExampleQuestion], str]] = []
    chat_model = None
    for article in articles:
        questions = list(article.example_questions.all())
        content_hash = article_content_hash(
            title=article.title, body=article.body, questions=[q.text for q in questions]
        )
        if not force and article.embedded_at is not None and article.content_hash == content_hash:
            continue
        typed = [q for q in questions if not q.generated]
        if not typed or len(typed) < len(questions):  # none of its own, or generated ones to drop
            if chat_model is None:
                chat_model = get_chat_model() or False
            questions = _questions_refresh(article=article, questions=questions, chat_model=chat_model or None)
            content_hash = article_content_hash(
                title=article.title, body=article.body, questions=[q.text for q in questions]
            )
        markdown = article.source is not None and article.source.kind == Source.Kind.FILE
        chunks = split_text(text=article.body, markdown=markdown) or [article.title]
        pending.append((article, chunks, questions, content_hash))

    if progress_source is not None:
        source_progress(source=progress_source, done=0, total=len(pending))
    done = 0
    batch: list[tuple[Article, list[str], list[ExampleQuestion], str]] = []
    batch_texts = 0
    for item in pending:
        batch.append(item)
        batch_texts += len(item[1]) + len(item[2])
        if batch_texts >= EMBED_BATCH:
            _embed_batch(batch)
            done += len(batch)
            batch, batch_texts = [], 0
            if progress_source is not None:
                source_progress(source=progress_source, done=done, total=len(pending))
    if batch:
        _embed_batch(batch)
        done += len(batch)
        if progress_source is not None:
            source_progress(source=progress_source, done=done, total=len(pending))
    return done


def _questions_refresh(*, article: Article, questions: list[ExampleQuestion], chat_model) -> list[ExampleQuestion]:
    """The article's own questions if it has any (generated ones dropped), else freshly generated ones."""
    typed = [q for q in questions if not q.generated]
    article.example_questions.filter(generated=True).delete()
    if typed:
        return typed
    texts = questions_generate(title=article.title, body=article.body, chat_model=chat_model)
    return ExampleQuestion.objects.bulk_create(
        [ExampleQuestion(article=article, text=text[:500], generated=True) for text in texts]
    )


def _embed_batch(batch) -> None:
    texts: list[str] = []
    for article, chunks, questions, _hash in batch:
        # The title travels with every chunk: passages like "Within 30 days." mean little alone.
        texts.extend(f"{article.title}\n{chunk}" for chunk in chunks)
        texts.extend(q.text for q in questions)
    vectors = embed(texts)

    now = timezone.now()
    new_chunks: list[Chunk] = []
    updated_questions: list[ExampleQuestion] = []
    row = 0
    for article, chunks, questions, content_hash in batch:
        for index, chunk in enumerate(chunks):
            new_chunks.append(Chunk(article=article, index=index, text=chunk, embedding=vectors[row]))
            row += 1
        for question in questions:
            question.embedding = vectors[row]
            updated_questions.append(question)
            row += 1
        article.content_hash = content_hash
        # bulk_update skips auto_now; the classifier's fingerprint relies on updated_at moving.
        article.embedded_at = article.updated_at = now
    with transaction.atomic():
        Chunk.objects.filter(article__in=[item[0] for item in batch]).delete()
        Chunk.objects.bulk_create(new_chunks, batch_size=1000)
        _write_question_vectors(updated_questions)
        Article.objects.bulk_update([item[0] for item in batch], ["content_hash", "embedded_at", "updated_at"])


def _write_question_vectors(questions: list[ExampleQuestion]) -> None:
    """Store the questions' vectors, 1,000 per UPDATE.

    bulk_update writes a CASE WHEN per row, which for 15,000 vectors of 384 floats is several
    times slower than joining the new values from two arrays.
    """
    table = connection.ops.quote_name(ExampleQuestion._meta.db_table)
    sql = (
        f"UPDATE {table} AS q SET embedding = v.embedding::vector "  # noqa: S608 (a model's own table name)
        "FROM unnest(%s::bigint[], %s::text[]) AS v(id, embedding) WHERE q.id = v.id"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(questions), 1000):
            part = questions[start : start + 1000]
            cursor.execute(
                sql,
                [[q.pk for q in part], ["[" + ",".join(map(repr, q.embedding.tolist())) + "]" for q in part]],
            )


def source_progress(*, source: Source, done: int, total: int) -> None:
    source.progress_done, source.progress_total = done, total
    Source.objects.filter(pk=source.pk).update(progress_done=done, progress_total=total, updated_at=timezone.now())


def article_embed(*, article_id: int, force: bool = False) -> bool:
    """Embed one article if its content changed since it was last embedded; True if it did."""
    article = Article.objects.select_related("source").filter(pk=article_id).first()
    if article is None:  # deleted after the task was queued
        return False
    return articles_embed(articles=[article], force=force) == 1


def article_request_embedding(*, article: Article) -> bool:
    """Queue (re)embedding after the current transaction commits, if the article's content changed."""
    if not article_needs_embedding(article=article):
        return False
    article_id = article.pk
    transaction.on_commit(lambda: embed_article_task.delay(article_id))
    return True


def articles_request_reembedding(*, article_ids: Sequence[int]) -> None:
    """Re-embed these articles (changed or not) once the current transaction commits."""
    ids = list(article_ids)
    transaction.on_commit(lambda: [embed_article_task.delay(article_id) for article_id in ids])
    # An article never embedded is embedded whatever its hash says.
    Article.objects.filter(pk__in=ids).update(embedded_at=None)


def articles_set_published(*, article_ids: Sequence[int], published: bool) -> int:
    """Publish or unpublish; bumps updated_at so the classifier notices (queryset.update skips auto_now)."""
    count = (
        Article.objects.filter(pk__in=article_ids)
        .exclude(published=published)
        .update(published=published, updated_at=timezone.now())
    )
    if count:
        classifier_request_training()
    return count


def classifier_request_training() -> None:
    transaction.on_commit(lambda: train_classifier_task.delay())


def knowledge_base_clear() -> None:
    """Delete every source and article (with their chunks, example questions and classifiers)."""
    with transaction.atomic():
        Article.objects.all().delete()
        Source.objects.all().delete()
        ArticleClassifier.objects.all().delete()


# --- Sources --------------------------------------------------------------------------------------


def source_request_ingestion(*, source: Source) -> None:
    """Mark `source` queued and start its ingestion once this transaction commits."""
    _source_queue(source=source, task=ingest_source_task)


def source_request_reembedding(*, source: Source) -> None:
    """Mark `source` queued and re-embed its articles once this transaction commits."""
    _source_queue(source=source, task=reembed_source_task)


def _source_queue(*, source: Source, task) -> None:
    if source.status in (Source.Status.QUEUED, Source.Status.RUNNING) and not source_is_stale(source=source):
        raise KnowledgeError(f"{source} is already {source.get_status_display().lower()}; wait for it to finish")
    Source.objects.filter(pk=source.pk).update(status=Source.Status.QUEUED, last_error="", updated_at=timezone.now())
    source_id = source.pk
    if settings.KNOWLEDGE_INGEST_IN_THREAD:
        # No broker (REDIS_URL unset): an eager task would crawl inside the manager's request, and its
        # failure would be that request's 500. A thread returns at once; the source shows "running",
        # then done or failed with its reason, as with a worker.
        transaction.on_commit(lambda: threading.Thread(target=_run_task, args=(task, source_id), daemon=True).start())
        return
    transaction.on_commit(lambda: task.delay(source_id))


def _run_task(task, source_id: int) -> None:
    try:
        task.apply(args=(source_id,), throw=False)
    except Exception:  # already on the source's last_error; a background thread must not die loudly
        logging.getLogger(__name__).exception("Ingestion of source %s failed", source_id)
    finally:
        close_old_connections()


def _stale_before():
    return timezone.now() - timedelta(seconds=conf.get("SOURCE_STALE_SECONDS"))


def source_is_stale(*, source: Source) -> bool:
    """A queued or running job that has written no progress for a long time died (a killed worker, a lost task).

    Running jobs bump updated_at with every page crawled and every embedding batch, so silence this
    long is not slowness.
    """
    return source.status in (Source.Status.QUEUED, Source.Status.RUNNING) and source.updated_at < _stale_before()


def sources_recover_stale() -> int:
    """Mark dead jobs failed with the reason, so admin shows it and can run them again; returns how many."""
    minutes = conf.get("SOURCE_STALE_SECONDS") // 60
    return Source.objects.filter(
        status__in=[Source.Status.QUEUED, Source.Status.RUNNING], updated_at__lt=_stale_before()
    ).update(
        status=Source.Status.FAILED,
        last_error=f"Interrupted: no progress for {minutes} minutes (the worker stopped?). Run the ingestion again.",
        updated_at=timezone.now(),
    )


# --- Articles written one at a time (the REST API) ----------------------------------------------------


ARTICLE_FIELDS = ("title", "body", "url", "tags", "published", "source")


def article_save(*, article: Article, changes: dict, questions: Sequence[str] | None = None) -> Article:
    """Create or update one article (and, if given, exactly its example questions), then queue what
    follows an edit in admin: re-embedding if its content changed, retraining if publication did."""
    unknown = set(changes) - set(ARTICLE_FIELDS)
    if unknown:
        raise KnowledgeError(f"Articles have no field {', '.join(sorted(unknown))}")
    is_new = article.pk is None
    was_published = article.published
    with transaction.atomic():
        for name, value in changes.items():
            setattr(article, name, value)
        article.save()
        if questions is not None:
            wanted = list(dict.fromkeys(q.strip()[:500] for q in questions if q.strip()))
            article.example_questions.exclude(text__in=wanted).delete()
            # A question a person sends that had been generated is now the article's own.
            article.example_questions.filter(text__in=wanted, generated=True).update(generated=False)
            ExampleQuestion.objects.bulk_create(
                [ExampleQuestion(article=article, text=q) for q in wanted], ignore_conflicts=True
            )
        article_request_embedding(article=article)
        if not is_new and was_published != article.published:
            classifier_request_training()
    return article


def article_delete(*, article: Article) -> None:
    with transaction.atomic():
        article.delete()
        classifier_request_training()
