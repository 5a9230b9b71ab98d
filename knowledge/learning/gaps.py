"""Content gaps: clusters of questions the bot declined or was unsure about over a period, that no
person answered, with their counts: a proposed article for a reviewer to write.

Imports numpy, so only the nightly run (knowledge.learning.nightly, in a worker) loads this module.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from django.db.models import Q

from chat.models import Message
from knowledge import conf, scrub
from knowledge.answers import answer_decide
from knowledge.learning.generation import is_person_request, title_from_question
from knowledge.learning.recording import MAX_QUESTIONS, Kind, Proposal, clamp
from knowledge.models import SuggestionEvidence
from nlp.embeddings import embed

# The newest questions of the period at most: the similarity matrix is quadratic.
GAP_MAX_QUESTIONS = 4000


def content_gap_proposals(*, since: datetime, until: datetime) -> list[Proposal]:
    """Clusters of questions the bot declined or was unsure about, that no suggestion covers yet."""
    low = conf.get("SUGGEST_LOW_CONFIDENCE")
    weak_answers = (
        Message.objects.filter(created_at__gte=since, created_at__lt=until, sender=Message.Sender.BOT)
        .filter(metadata__has_key="reply_to")
        .filter(Q(metadata__declined=True) | Q(metadata__confidence__lt=low))
        .exclude(metadata__has_key="error")  # outages, not gaps (and a NULL-safe test, unlike error=True)
        .values_list("conversation_id", "metadata__reply_to")
    )
    wanted = {(conversation_id, int(seq)) for conversation_id, seq in weak_answers if seq is not None}
    if not wanted:
        return []
    used = set(
        SuggestionEvidence.objects.filter(
            conversation_id__in={c for c, _s in wanted},
            suggestion__kind__in=[Kind.NEW_ARTICLE, Kind.EXAMPLE_QUESTION, Kind.CONTENT_GAP],
        ).values_list("message_id", flat=True)
    )
    questions: list[tuple[Message, str]] = []
    rows = (
        Message.objects.filter(conversation_id__in={c for c, _s in wanted}, sender=Message.Sender.VISITOR)
        .select_related("conversation__customer")
        .order_by("-id")
    )
    for message in rows:
        if (message.conversation_id, message.seq) not in wanted or message.pk in used:
            continue
        if is_person_request(message.text):
            continue
        text = scrub.scrub_question(message.text, names=[message.conversation.customer.name])
        if scrub.word_count(text) >= 3:
            questions.append((message, text))
        if len(questions) >= GAP_MAX_QUESTIONS:
            break  # the newest ones; the similarity matrix is quadratic
    if not questions:
        return []

    vectors = embed([text for _m, text in questions])
    proposals: list[Proposal] = []
    clusters = _cluster(vectors, threshold=conf.get("SUGGEST_GAP_SIMILARITY"))
    for members in clusters:
        conversations = {questions[i][0].conversation_id for i in members}
        if len(conversations) < conf.get("SUGGEST_GAP_MIN_CONVERSATIONS"):
            continue
        centroid = vectors[members].mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        central = max(members, key=lambda i: float(vectors[i] @ centroid))
        title_question = questions[central][1]
        decision = answer_decide(question=title_question)
        if not decision.declined and decision.confidence >= conf.get("SUGGEST_LOW_CONFIDENCE"):
            continue  # answered now (an article was approved since)
        by_closeness = sorted(members, key=lambda i: -float(vectors[i] @ centroid))
        texts = list(dict.fromkeys(questions[i][1] for i in by_closeness))
        proposals.append(
            Proposal(
                kind=Kind.CONTENT_GAP,
                title=title_from_question(title_question),
                question=title_question[:500],
                confidence=clamp(min(0.9, 0.3 + 0.1 * len(conversations))),
                evidence=[
                    (questions[i][0].conversation_id, questions[i][0].pk, "unanswered question") for i in by_closeness
                ],
                vector=vectors[central],
                details={
                    "questions": texts[:MAX_QUESTIONS],
                    "question_count": len(members),
                    "conversation_count": len(conversations),
                    "period": [since.isoformat(), until.isoformat()],
                    "why": "Visitors asked this and nobody answered: write the article's answer, then approve.",
                    # A near miss rather than a gap when this is the right article: reject, and add
                    # the questions to it instead.
                    "nearest_article": (
                        {
                            "id": decision.article_id,
                            "title": decision.hit.title,
                            "confidence": round(decision.confidence, 2),
                        }
                        if decision.hit is not None
                        else None
                    ),
                },
            )
        )
    if proposals:
        max(proposals, key=lambda p: p.details["question_count"]).details["largest"] = True
    return proposals


def _cluster(vectors: np.ndarray, *, threshold: float) -> list[list[int]]:
    """Taylor-Butina clustering of unit vectors: biggest clusters first, deterministic.

    The question with the most neighbours (cosine >= threshold) seeds a cluster of itself and its
    unclaimed neighbours, then the next densest unclaimed one, and so on. Unlike greedy clustering
    in arrival order, the result does not depend on the order of the questions, which idempotent
    generation relies on. Quadratic in memory: callers cap the number of questions.
    """
    if len(vectors) == 0:
        return []
    similar = (vectors @ vectors.T) >= threshold
    density = similar.sum(axis=1)
    claimed = np.zeros(len(vectors), dtype=bool)
    clusters: list[list[int]] = []
    for seed in sorted(range(len(vectors)), key=lambda i: (-int(density[i]), i)):
        if claimed[seed]:
            continue
        members = np.flatnonzero(similar[seed] & ~claimed).tolist()
        claimed[members] = True
        clusters.append(sorted(members, key=lambda i: (i != seed, i)))
    return sorted(clusters, key=lambda m: (-len(m), m[0]))
