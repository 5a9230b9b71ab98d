"""Recording proposals as training suggestions: dedupe, evidence, impact.

A proposal that repeats a pending suggestion (same key, or a paraphrase by embedding similarity)
adds its messages as evidence instead; a message is used as evidence once per kind, so running
generation again changes nothing. Recording is serialised by an advisory lock: it is rare and
cheap next to a reviewer reading two similar suggestions.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from pgvector.django import CosineDistance

from knowledge import conf, scrub
from knowledge.models import SuggestionEvent, SuggestionEvidence, TrainingSuggestion
from nlp.embeddings import embed

Kind = TrainingSuggestion.Kind
Status = TrainingSuggestion.Status
logger = logging.getLogger(__name__)

# Example questions a suggestion gathers (and approving adds) at most.
MAX_QUESTIONS = 20


@dataclass
class GenerationReport:
    conversations: int = 0
    created: Counter = field(default_factory=Counter)
    evidence_added: int = 0
    withheld: int = 0  # proposals not recorded because personal data survived scrubbing

    def merge(self, other: GenerationReport) -> None:
        self.conversations += other.conversations
        self.created.update(other.created)
        self.evidence_added += other.evidence_added
        self.withheld += other.withheld

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "created": {kind: self.created.get(kind, 0) for kind in Kind.values},
            "evidence_added": self.evidence_added,
            "withheld": self.withheld,
        }


@dataclass
class Proposal:
    """A suggestion generation would make, before it is recorded (or merged into one that exists)."""

    kind: str
    title: str
    question: str
    evidence: list[tuple[int, int, str]]  # (conversation id, message id, note)
    confidence: float
    body: str = ""
    target_article_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    vector: Any = None  # the question's embedding (numpy row), for dedupe by similarity


def proposals_record(*, proposals: Sequence[Proposal], report: GenerationReport) -> None:
    """Store each proposal as a new suggestion or as evidence of the one it repeats; counts go to `report`.

    A proposal in which any personal-data detector still fires is not proposed at all: what a
    reviewer approves can reach every other visitor, and a bulk of reviews is no privacy filter.
    """
    for proposal in proposals:
        hits = scrub.personal_data_hits("\n".join((proposal.title, proposal.question, proposal.body)))
        if hits:
            report.withheld += 1
            logger.info(
                "Withheld a %s proposal: personal data survived scrubbing (%s)",
                proposal.kind,
                ", ".join(hit.split(":", 1)[0] for hit in hits),
            )
            continue
        if proposal.vector is None and proposal.question:
            proposal.vector = embed([proposal.question])[0]
        _suggestion, created, added = _record(proposal)
        if created:
            report.created[proposal.kind] += 1
        else:
            report.evidence_added += added


def clamp(value: float) -> float:
    """A confidence between 0 and 1, rounded as it is stored."""
    return round(min(1.0, max(0.0, float(value))), 4)


def _dedupe_key(kind: str, *, target_article_id: int | None, question: str) -> str:
    if kind == Kind.ANSWER_REVISION:
        raw = f"{kind}|{target_article_id}"  # one pending revision per article gathers every complaint
    else:
        raw = f"{kind}|{target_article_id or ''}|{scrub.normalise(question)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _record(proposal: Proposal) -> tuple[TrainingSuggestion, bool, int]:
    """Store `proposal` as a new suggestion, or as evidence of the pending one it repeats."""
    key = _dedupe_key(proposal.kind, target_article_id=proposal.target_article_id, question=proposal.question)
    with transaction.atomic():
        # One generator at a time: similarity dedupe reads then writes, which the unique
        # constraint on dedupe_key alone cannot protect (paraphrases have different keys).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('knowledge.training_suggestions'))")
        existing = _matching_suggestion(proposal, key)
        if existing is not None:
            return existing, False, _add_evidence(existing, proposal)
        suggestion = TrainingSuggestion.objects.create(
            kind=proposal.kind,
            title=proposal.title[:300],
            question=proposal.question[:500],
            body=proposal.body,
            target_article_id=proposal.target_article_id,
            confidence=clamp(proposal.confidence),
            dedupe_key=key,
            question_embedding=_as_list(proposal.vector),
            details=proposal.details,
        )
        SuggestionEvent.objects.create(
            suggestion=suggestion,
            action=SuggestionEvent.Action.CREATE,
            to_status=Status.PENDING,
            change={"evidence": len(proposal.evidence)},
        )
        _add_evidence(suggestion, proposal, fresh=True)
    return suggestion, True, 0


def _matching_suggestion(proposal: Proposal, key: str) -> TrainingSuggestion | None:
    same_key = TrainingSuggestion.objects.filter(dedupe_key=key)
    # A rejected suggestion absorbs exact repeats (the reviewer said no to this); it does not
    # absorb paraphrases, which may deserve a second look.
    existing = same_key.filter(status=Status.PENDING).first() or same_key.filter(status=Status.REJECTED).first()
    if existing is not None or proposal.vector is None:
        return existing
    if proposal.kind == Kind.EXAMPLE_QUESTION:
        candidates = TrainingSuggestion.objects.filter(kind=proposal.kind, target_article_id=proposal.target_article_id)
        threshold = conf.get("SUGGEST_EXAMPLE_DEDUPE_SIMILARITY")
    elif proposal.kind in (Kind.NEW_ARTICLE, Kind.CONTENT_GAP):
        # A gap that repeats a pending new article (or the reverse) is one topic.
        candidates = TrainingSuggestion.objects.filter(kind__in=[Kind.NEW_ARTICLE, Kind.CONTENT_GAP])
        threshold = conf.get("SUGGEST_DEDUPE_SIMILARITY")
    else:
        return None
    nearest = list(
        candidates.filter(status=Status.PENDING, question_embedding__isnull=False)
        .annotate(distance=CosineDistance("question_embedding", _as_list(proposal.vector)))
        .order_by("distance")[:5]
    )
    if nearest and 1.0 - float(nearest[0].distance) >= threshold:
        return nearest[0]
    if proposal.kind == Kind.NEW_ARTICLE and proposal.body:
        # Paraphrases often score 0.6-0.7 ("Can you engrave my water bottle?" / "Do you engrave names
        # on flasks?"), as do different questions; two agents giving the same answer settles it.
        loose_similarity = conf.get("SUGGEST_DEDUPE_LOOSE_SIMILARITY")
        loose = [s for s in nearest if s.body and 1.0 - float(s.distance) >= loose_similarity]
        if loose:
            vectors = embed([proposal.body[:2000]] + [s.body[:2000] for s in loose])
            for suggestion, vector in zip(loose, vectors[1:], strict=True):
                if float(vectors[0] @ vector) >= conf.get("SUGGEST_DEDUPE_ANSWER_SIMILARITY"):
                    return suggestion
    return None


def _add_evidence(suggestion: TrainingSuggestion, proposal: Proposal, *, fresh: bool = False) -> int:
    """Link the proposal's messages to `suggestion`; returns how many were new. Recomputes impact."""
    before = 0 if fresh else suggestion.evidence.count()
    SuggestionEvidence.objects.bulk_create(
        [
            SuggestionEvidence(suggestion=suggestion, conversation_id=c, message_id=m, note=note[:200])
            for c, m, note in proposal.evidence
        ],
        ignore_conflicts=True,  # the same message twice is the idempotent re-run, not an error
    )
    added = suggestion.evidence.count() - before
    if not added and not fresh:
        return 0
    suggestion = TrainingSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    details = dict(suggestion.details)
    questions = list(details.get("questions", []))
    for text in proposal.details.get("questions", []):
        if scrub.normalise(text) not in {scrub.normalise(q) for q in questions} and len(questions) < MAX_QUESTIONS:
            questions.append(text)
    details["questions"] = questions
    if not suggestion.body and proposal.body and suggestion.status == Status.PENDING:
        # A content gap that an agent has now answered gets the answer as its draft.
        suggestion.body = proposal.body
        details["body_from"] = proposal.details.get("body_from", "")
    if proposal.kind == Kind.CONTENT_GAP and suggestion.kind == Kind.CONTENT_GAP:
        details.update({k: proposal.details[k] for k in ("question_count", "conversation_count", "period")})
    suggestion.details = details
    suggestion.confidence = clamp(max(suggestion.confidence, proposal.confidence))
    suggestion.impact = suggestion.evidence.order_by().values("conversation_id").distinct().count()
    suggestion.save(update_fields=["details", "body", "confidence", "impact", "updated_at"])
    return added


def _as_list(vector: Any) -> list[float] | None:
    if vector is None:
        return None
    return [float(x) for x in (vector.tolist() if hasattr(vector, "tolist") else vector)]
