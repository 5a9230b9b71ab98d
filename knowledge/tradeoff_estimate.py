"""The answer/decline trade-off estimated on this knowledge base, for the admin trade-off view.

Answerable questions: the knowledge base's own example questions, by cross-validation (a classifier
trained on the other folds scores each held-out question, exactly as knowledge.answers would with
its calibrated confidence). Foreign questions: the shipped set in knowledge/data/foreign_questions.json
(built by bench/build_foreign_questions.py from training data only), minus the topics this knowledge
base covers, scored by a classifier trained on all of it.

Example questions are paraphrases written by the same people, so with many per article held-out ones
are easier than what visitors type (on CLINC150 the folds give 97.6% top-1, its validation split
96.7%); with a handful per article the estimate is pessimistic instead, each fold taking one of an
article's few questions away from the classifier.

numpy and the embedding model load with this module; admin imports it when a manager asks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.models import ExampleQuestion
from knowledge.policy import EstimateUnavailable
from knowledge.probe import fit_probe
from knowledge.scoring import probe_confidence
from knowledge.tradeoff import PRESETS, SWEEP, Scored, operating_point, separation, sweep
from nlp.embeddings import embed

FOREIGN_PATH = Path(__file__).with_name("data") / "foreign_questions.json"
# Caps that keep an estimate to seconds on a big knowledge base (it runs while the manager waits).
MAX_PER_ARTICLE = 20
# Folds: as many as a typical article has questions (each fold then holds out about one per article,
# so a small knowledge base is not judged on articles stripped of a third of their questions), 3-5.
MIN_FOLDS, MAX_FOLDS = 3, 5
# A foreign topic the knowledge base covers is not foreign: a group whose median nearest cosine to the
# knowledge base's questions reaches COVERED_GROUP is dropped, and so is any single foreign question
# at NEAR_DUPLICATE or above. all-MiniLM-L6-v2 scores paraphrases of one question 0.6-0.8; on the demo
# shop the groups it covers (Bitext's cancel_order, delivery_period, recover_password...) have medians
# of 0.57-0.83 and the first it does not (CLINC150's card expiration) 0.565, Bitext's template
# placeholders ("{{Order Number}}") pulling the covered ones down.
COVERED_GROUP = 0.57
NEAR_DUPLICATE = 0.85
SEED = 0


@dataclass(frozen=True)
class Estimate:
    in_scope: int
    foreign: int
    foreign_dropped: int
    scored: list[Scored]

    def as_dict(self) -> dict:
        return {
            "in_scope": self.in_scope,
            "foreign": self.foreign,
            "foreign_dropped": self.foreign_dropped,
            **separation(self.scored),
            "presets": {name: operating_point(self.scored, t).as_dict() for name, (t, _cost) in PRESETS.items()},
            "sweep": [point.as_dict() for point in sweep(self.scored, SWEEP)],
        }


def tradeoff_estimate() -> Estimate:
    rows = list(
        ExampleQuestion.objects.filter(article__published=True, embedding__isnull=False)
        .order_by("article_id", "id")
        .values_list("article_id", "text", "embedding")
    )
    if len({article_id for article_id, _t, _v in rows}) < 2:
        raise EstimateUnavailable("Needs at least two published articles with embedded example questions.")
    rng = np.random.default_rng(SEED)
    by_article: dict[int, list[int]] = {}
    for i, (article_id, _t, _v) in enumerate(rows):
        by_article.setdefault(article_id, []).append(i)
    kept = sorted(i for ids in by_article.values() for i in rng.permutation(ids)[:MAX_PER_ARTICLE].tolist())
    labels = np.array([rows[i][0] for i in kept])
    texts = [rows[i][1] for i in kept]
    vectors = np.stack([np.asarray(rows[i][2], dtype=np.float32) for i in kept])

    # Folds per article, so every article keeps questions in training; an article with a single
    # question is never held out (nothing would be left to learn it from).
    counts = np.unique(labels, return_counts=True)[1]
    folds = int(min(MAX_FOLDS, max(MIN_FOLDS, np.median(counts))))
    fold = np.full(len(kept), -1)
    for article_id in np.unique(labels):
        members = np.flatnonzero(labels == article_id)
        if len(members) >= 2:
            fold[members] = rng.permutation(len(members)) % folds
    scored: list[Scored] = []
    for k in range(folds):
        held = fold == k
        if not held.any():
            continue
        train = ~held
        confidences, top = _score(vectors[train], texts, train, labels[train], vectors[held], _subset(texts, held))
        scored += [
            Scored(confidence=c, in_scope=True, right=bool(t == y))
            for c, t, y in zip(confidences, top, labels[held], strict=True)
        ]

    foreign_texts, foreign_vectors, dropped = _foreign_for(vectors)
    if foreign_texts:
        everything = np.ones(len(kept), dtype=bool)
        confidences, _top = _score(vectors, texts, everything, labels, foreign_vectors, foreign_texts)
        scored += [Scored(confidence=c, in_scope=False) for c in confidences]
    return Estimate(
        in_scope=sum(q.in_scope for q in scored), foreign=len(foreign_texts), foreign_dropped=dropped, scored=scored
    )


def _score(train_vectors, all_texts, train_mask, train_labels, query_vectors, query_texts):
    probe = fit_probe(vectors=train_vectors, texts=_subset(all_texts, train_mask), labels=train_labels)
    probabilities = probe.predict_proba(vectors=query_vectors, texts=query_texts)
    best = probabilities.argmax(axis=1)
    top = probe.labels[best]
    similarities = query_vectors @ train_vectors.T
    confidences = [
        probe_confidence(
            probability=float(probabilities[row, best[row]]),
            similarity=float(similarities[row, train_labels == top[row]].max()),
        )
        for row in range(len(query_texts))
    ]
    return confidences, top


def _foreign_for(kb_vectors: np.ndarray) -> tuple[list[str], np.ndarray, int]:
    texts, groups, vectors = _foreign_questions()
    nearest = (vectors @ kb_vectors.T).max(axis=1)
    keep = nearest < NEAR_DUPLICATE
    for group in set(groups):
        members = np.array([g == group for g in groups])
        if np.median(nearest[members]) >= COVERED_GROUP:
            keep &= ~members
    return _subset(texts, keep), vectors[keep], int((~keep).sum())


@lru_cache(maxsize=1)
def _foreign_questions() -> tuple[list[str], list[str], np.ndarray]:
    questions = json.loads(FOREIGN_PATH.read_text(encoding="utf-8"))["questions"]
    texts = [q["text"] for q in questions]
    return texts, [q["group"] for q in questions], embed(texts)


def _subset(texts: list[str], mask: np.ndarray) -> list[str]:
    return [text for text, keep in zip(texts, mask, strict=True) if keep]
