"""The reviewer's decisions on training suggestions: edit a draft, approve (optionally edited), reject, revert.

Approval writes through knowledge.services and queues embedding on commit; until the embedding and the
classifier catch up, answer_decide sees a changed knowledge fingerprint, ignores the stale classifier
and answers from hybrid retrieval, which already finds the new article once embedded.
Every decision is a SuggestionEvent row (from, to, actor, change).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from knowledge import scrub
from knowledge.learning.recording import MAX_QUESTIONS, Kind, Status
from knowledge.models import Article, ExampleQuestion, Source, SuggestionEvent, TrainingSuggestion
from knowledge.services import article_request_embedding, article_upsert, articles_set_published

LEARNED_SOURCE_NAME = "Learned from conversations"


class SuggestionError(Exception):
    """A review action that cannot happen now; the message tells the reviewer why."""


def suggestion_edit(
    *,
    suggestion: TrainingSuggestion,
    editor,
    title: str | None = None,
    body: str | None = None,
    question: str | None = None,
    questions: Sequence[str] | None = None,
) -> TrainingSuggestion:
    """Save a reviewer's edits of a pending suggestion (a draft, without deciding)."""
    with transaction.atomic():
        suggestion = _lock_pending(suggestion, "edit")
        changed = _apply_edits(suggestion, title=title, body=body, question=question, questions=questions)
        if changed:
            suggestion.save(update_fields=["title", "body", "question", "details", "updated_at"])
            _event(suggestion, SuggestionEvent.Action.EDIT, Status.PENDING, actor=editor, change={"edited": changed})
    return suggestion


def suggestion_approve(
    *,
    suggestion: TrainingSuggestion,
    reviewer,
    edited_title: str | None = None,
    edited_body: str | None = None,
    edited_question: str | None = None,
    edited_questions: Sequence[str] | None = None,
) -> TrainingSuggestion:
    """Apply the suggestion to the knowledge base (edited first if given) and queue its re-embedding.

    `edited_questions` replaces the example questions to add (the first becomes the question);
    `edited_question` replaces only the first.

    The bot uses the change from the next message on: embedding runs on commit (Celery), and
    until the classifier is retrained the changed fingerprint makes answer_decide use retrieval.
    """
    with transaction.atomic():
        suggestion = _lock_pending(suggestion, "approve")
        edited = _apply_edits(
            suggestion, title=edited_title, body=edited_body, question=edited_question, questions=edited_questions
        )
        _validate_for_approval(suggestion)
        questions = suggestion_questions(suggestion=suggestion)
        if suggestion.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP):
            source, _ = Source.objects.get_or_create(name=LEARNED_SOURCE_NAME, defaults={"kind": Source.Kind.MANUAL})
            article, _outcome = article_upsert(
                source=source,
                external_key=f"suggestion-{suggestion.pk}",
                title=suggestion.title,
                body=suggestion.body,
                tags=["learned"],
                questions=questions,
            )
            change = {
                "article_id": article.pk,
                "created_article": True,
                "example_question_ids": list(article.example_questions.values_list("pk", flat=True)),
            }
        elif suggestion.kind == Kind.EXAMPLE_QUESTION:
            article = Article.objects.select_for_update().get(pk=suggestion.target_article_id)
            known = {scrub.normalise(t) for t in article.example_questions.values_list("text", flat=True)}
            new = [q for q in questions if scrub.normalise(q) not in known]
            if not new:
                raise SuggestionError(f"“{article.title}” already has this example question; reject the suggestion.")
            created = [ExampleQuestion.objects.create(article=article, text=q[:500]) for q in new]
            change = {"article_id": article.pk, "example_question_ids": [q.pk for q in created]}
        else:
            article = Article.objects.select_for_update().get(pk=suggestion.target_article_id)
            # A revision changes the body only: the suggestion's title names the task, not the article.
            change = {"article_id": article.pk, "previous_body": article.body}
            article.body = suggestion.body
            article.save(update_fields=["body", "updated_at"])
            change["body"] = article.body
        change["edited"] = edited
        article_request_embedding(article=article)
        suggestion.status = Status.APPROVED
        suggestion.reviewer, suggestion.reviewed_at = reviewer, timezone.now()
        suggestion.applied_change = change
        suggestion.save(
            update_fields=[
                "title", "body", "question", "details", "status", "reviewer", "reviewed_at", "applied_change",
                "updated_at",
            ]
        )  # fmt: skip
        _event(suggestion, SuggestionEvent.Action.APPROVE, Status.PENDING, actor=reviewer, change=change)
    return suggestion


def suggestion_reject(*, suggestion: TrainingSuggestion, reviewer, reason: str = "") -> TrainingSuggestion:
    """Decline the suggestion; it stays rejected, and exact repeats are added to it rather than resurfacing."""
    with transaction.atomic():
        suggestion = _lock_pending(suggestion, "reject")
        suggestion.status = Status.REJECTED
        suggestion.reviewer, suggestion.reviewed_at = reviewer, timezone.now()
        suggestion.review_reason = reason.strip()[:2000]
        suggestion.save(update_fields=["status", "reviewer", "reviewed_at", "review_reason", "updated_at"])
        _event(suggestion, SuggestionEvent.Action.REJECT, Status.PENDING, actor=reviewer, reason=reason.strip())
    return suggestion


def suggestion_revert(*, suggestion: TrainingSuggestion, reviewer) -> TrainingSuggestion:
    """Undo an approved change: unpublish the created article, remove the added example questions,
    or restore the article's previous text. The bot stops using it after the next re-embedding."""
    with transaction.atomic():
        suggestion = TrainingSuggestion.objects.select_for_update().get(pk=suggestion.pk)
        if suggestion.status != Status.APPROVED:
            raise SuggestionError(f"Only approved suggestions can be reverted; this one is {suggestion.status}.")
        applied = suggestion.applied_change
        article = Article.objects.select_for_update().filter(pk=applied.get("article_id")).first()
        undone: dict[str, Any] = {"article_id": applied.get("article_id")}
        if article is None:
            undone["note"] = "The article had been deleted already."
        elif suggestion.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP):
            articles_set_published(article_ids=[article.pk], published=False)
            undone["unpublished"] = True
        elif suggestion.kind == Kind.EXAMPLE_QUESTION:
            deleted, _ = ExampleQuestion.objects.filter(pk__in=applied.get("example_question_ids", [])).delete()
            undone["example_questions_removed"] = deleted
            article_request_embedding(article=article)
        else:
            if article.body != applied.get("body"):
                raise SuggestionError(
                    f"“{article.title}” was edited after this change was approved; "
                    "edit the article itself to change it back."
                )
            article.body = applied["previous_body"]
            article.save(update_fields=["body", "updated_at"])
            undone["restored"] = True
            article_request_embedding(article=article)
        suggestion.status = Status.REVERTED
        suggestion.reverted_by, suggestion.reverted_at = reviewer, timezone.now()
        suggestion.save(update_fields=["status", "reverted_by", "reverted_at", "updated_at"])
        _event(suggestion, SuggestionEvent.Action.REVERT, Status.APPROVED, actor=reviewer, change=undone)
    return suggestion


def suggestion_questions(*, suggestion: TrainingSuggestion) -> list[str]:
    """The example questions approving would add: the suggestion's question, then the paraphrases
    gathered from its evidence."""
    texts = [suggestion.question, *suggestion.details.get("questions", [])]
    seen: set[str] = set()
    result = []
    for text in texts:
        key = scrub.normalise(text or "")
        if key and key not in seen:
            seen.add(key)
            result.append(text.strip()[:500])
    return result[:MAX_QUESTIONS]


def _lock_pending(suggestion: TrainingSuggestion, what: str) -> TrainingSuggestion:
    # Two reviewers on one suggestion: the second waits here and then sees the first's decision.
    locked = TrainingSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if locked.status != Status.PENDING:
        who = f" by {locked.reviewer}" if locked.reviewer else ""
        raise SuggestionError(f"Can't {what} “{locked.title}”: it was already {locked.status}{who}.")
    return locked


def _apply_edits(suggestion: TrainingSuggestion, *, title=None, body=None, question=None, questions=None) -> list[str]:
    changed = []
    if questions is not None:
        cleaned = list(dict.fromkeys(q.strip()[:500] for q in questions if q and q.strip()))
        if cleaned and cleaned != suggestion_questions(suggestion=suggestion):
            suggestion.details = {**suggestion.details, "questions": cleaned}
            changed.append("questions")
            question = cleaned[0]
    for name, value, limit in (("title", title, 300), ("body", body, None), ("question", question, 500)):
        if value is None:
            continue
        value = value.replace("\r\n", "\n").strip()
        value = value[:limit] if limit else value
        if value != getattr(suggestion, name):
            setattr(suggestion, name, value)
            changed.append(name)
    return changed


def suggestion_personal_data(*, suggestion: TrainingSuggestion) -> list[str]:
    """What the personal-data detectors find in the suggestion as it would be applied (for review and approval)."""
    texts = [suggestion.title, suggestion.body, *suggestion_questions(suggestion=suggestion)]
    return scrub.personal_data_hits("\n".join(texts))


def _validate_for_approval(suggestion: TrainingSuggestion) -> None:
    if not suggestion.title.strip():
        raise SuggestionError("Give the suggestion a title before approving it.")
    if suggestion.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP, Kind.ANSWER_REVISION) and not suggestion.body.strip():
        raise SuggestionError("Write the article's answer in the body before approving.")
    if suggestion.kind == Kind.EXAMPLE_QUESTION and not suggestion.question.strip():
        raise SuggestionError("The example question is empty; write one or reject the suggestion.")
    if hits := suggestion_personal_data(suggestion=suggestion):
        raise SuggestionError(
            f"It still contains personal data ({'; '.join(hits[:3])}); edit it out, or reject the suggestion."
        )
    targeted = suggestion.kind in (Kind.EXAMPLE_QUESTION, Kind.ANSWER_REVISION)
    if targeted and not Article.objects.filter(pk=suggestion.target_article_id).exists():
        raise SuggestionError("The article this suggestion is for was deleted; reject the suggestion.")
    if suggestion.kind == Kind.ANSWER_REVISION:
        article = Article.objects.get(pk=suggestion.target_article_id)
        if article.body.strip() == suggestion.body.strip():
            raise SuggestionError("The proposed body is the article as it is; edit it before approving, or reject.")


def _event(suggestion, action: str, from_status: str, *, actor=None, reason: str = "", change=None) -> None:
    SuggestionEvent.objects.create(
        suggestion=suggestion,
        action=action,
        from_status=from_status,
        to_status=suggestion.status,
        actor=actor,
        reason=reason,
        change=change or {},
    )
