"""What the knowledge base is now: its fingerprint, and which trained classifier fits it. No numpy.

Every answer asks which classifier fits: three queries, two of which count the whole knowledge base, so
the answer is read at most every CURRENT_CHECK_SECONDS per process. A change made in this process
(an article or question saved or deleted, a classifier trained: the receivers below, connected when
this module is first imported, which is before anything is cached) is seen at once; one made elsewhere,
or a bulk update, within that time. Meanwhile
a probe that votes for an article since unpublished finds no hit and the answer falls back on retrieval.
"""

from __future__ import annotations

import hashlib

from django.db.models import Count, Max, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from chat.db import ReadEvery
from knowledge.models import Article, ArticleClassifier, ExampleQuestion

CURRENT_CHECK_SECONDS = 2.0


def knowledge_fingerprint() -> str:
    """Changes whenever a published article, its example questions or their vectors change."""
    articles = Article.objects.filter(published=True).aggregate(n=Count("id"), changed=Max("updated_at"))
    questions = ExampleQuestion.objects.filter(article__published=True).aggregate(
        n=Count("id", filter=Q(embedding__isnull=False)), last=Max("id")
    )
    key = f"{articles['n']}|{articles['changed']}|{questions['n']}|{questions['last']}"
    return hashlib.sha256(key.encode()).hexdigest()


def _classifier_for_now() -> int | None:
    return ArticleClassifier.objects.filter(fingerprint=knowledge_fingerprint()).values_list("id", flat=True).first()


classifier_for_now = ReadEvery(_classifier_for_now, seconds=CURRENT_CHECK_SECONDS)


@receiver(post_save, sender=Article, dispatch_uid="knowledge_current_article_saved")
@receiver(post_delete, sender=Article, dispatch_uid="knowledge_current_article_deleted")
@receiver(post_save, sender=ExampleQuestion, dispatch_uid="knowledge_current_question_saved")
@receiver(post_delete, sender=ExampleQuestion, dispatch_uid="knowledge_current_question_deleted")
@receiver(post_save, sender=ArticleClassifier, dispatch_uid="knowledge_current_classifier_saved")
def _knowledge_changed(**_kwargs) -> None:
    classifier_for_now.forget()
