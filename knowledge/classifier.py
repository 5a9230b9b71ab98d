"""Training, storing and loading the article classifier (the linear probe of knowledge/probe.py).

A probe is only used for the exact knowledge base it was trained on, identified by
`knowledge_fingerprint()`; after any change the bot falls back to hybrid retrieval alone until the
`train_classifier` task (queued on commit by every change) has caught up.

This module loads numpy (through the probe); knowledge.answers imports it on the first answer.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from knowledge import conf
from knowledge.current import classifier_for_now, knowledge_fingerprint
from knowledge.models import ArticleClassifier, ExampleQuestion
from knowledge.probe import LinearProbe, fit_probe

logger = logging.getLogger(__name__)

_cache_lock = threading.Lock()
_cache: dict[int, LinearProbe] = {}


def classifier_train(*, force: bool = False) -> ArticleClassifier | None:
    """Train a probe for the current knowledge base unless one exists; None when a probe can't apply."""
    # Taken before reading the data: if the data changes meanwhile, this probe is born stale and
    # is ignored, and the change's own training request replaces it.
    fingerprint = knowledge_fingerprint()
    existing = ArticleClassifier.objects.filter(fingerprint=fingerprint).defer("weights").first()
    if existing is not None and not force:
        return existing

    rows = list(
        ExampleQuestion.objects.filter(article__published=True, embedding__isnull=False)
        .order_by("id")
        .values_list("article_id", "text", "embedding")
    )
    article_count = len({article_id for article_id, _text, _vector in rows})
    if article_count < 2 or article_count > conf.get("PROBE_MAX_ARTICLES"):
        ArticleClassifier.objects.all().delete()
        return None

    started = time.perf_counter()
    probe = fit_probe(
        vectors=np.stack([np.asarray(vector, dtype=np.float32) for _a, _t, vector in rows]),
        texts=[text for _a, text, _v in rows],
        labels=[article_id for article_id, _t, _v in rows],
    )
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    classifier = ArticleClassifier.objects.create(
        fingerprint=fingerprint,
        weights=probe.to_bytes(),
        article_count=article_count,
        example_count=len(rows),
        training_ms=elapsed_ms,
    )
    ArticleClassifier.objects.exclude(pk=classifier.pk).delete()
    logger.info(
        "Trained the article classifier on %d questions for %d articles in %d ms", len(rows), article_count, elapsed_ms
    )
    return classifier


def classifier_current() -> LinearProbe | None:
    """The probe for the knowledge base as it is now, or None (none trained yet, or stale)."""
    classifier_id = classifier_for_now()
    if classifier_id is None:
        return None
    with _cache_lock:
        probe = _cache.get(classifier_id)
        if probe is None:
            weights = ArticleClassifier.objects.values_list("weights", flat=True).get(pk=classifier_id)
            probe = LinearProbe.from_bytes(bytes(weights))
            _cache.clear()  # one knowledge base per process: only the newest probe is worth memory
            _cache[classifier_id] = probe
        return probe
