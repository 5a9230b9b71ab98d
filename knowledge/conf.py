"""Tunable constants of the knowledge base, each overridable by a HANDOFF_<NAME> Django setting.

The calibration coefficients come from bench/knowledge_calibrate.py (fitted on CLINC150's train
split by 5-fold cross-validation plus oos_train, never on val); re-run it after changing retrieval
or the probe. The threshold was then chosen on CLINC150 val (see bench/knowledge_results.md for the numbers,
including those of the stricter threshold the cross-validation alone would pick).
Values are read at call time, so tests can use pytest-django's `settings` fixture.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Calibrated probability that the chosen article answers the question; below it the bot declines.
    "ANSWER_THRESHOLD": 0.1,
    # confidence = sigmoid(a * logit(p_top) + b * best cosine to the article's example questions + c)
    "PROBE_CALIBRATION": (1.1301, 6.8628, -3.9595),
    # confidence = sigmoid(a * hybrid score + b * margin over the next article + c), when no probe applies
    "RETRIEVAL_CALIBRATION": (9.0069, 11.2761, -6.1843),
    # Weight of the full-text rank (squashed to 0..1) added to the cosine similarity in hybrid scores.
    "FTS_WEIGHT": 0.15,
    # Nearest neighbours fetched per index (questions, chunks) before fusing per article.
    "VECTOR_CANDIDATES": 50,
    "CHUNK_SIZE": 800,
    "CHUNK_OVERLAP": 120,
    # Answers quote at most this many characters of the best passage in extractive mode.
    "EXTRACT_MAX_CHARS": 700,
    "CRAWL_DELAY_SECONDS": 0.5,
    "CRAWL_TIMEOUT_SECONDS": 10.0,
    "CRAWL_MAX_BYTES": 5_000_000,
    "CRAWL_USER_AGENT": "HandoffBot/1.0 (+support knowledge base crawler)",
    # Articles a probe may cover; above it the bot uses hybrid retrieval alone (weights grow with it).
    "PROBE_MAX_ARTICLES": 2000,
}


def get(name: str) -> Any:
    return getattr(settings, f"HANDOFF_{name}", DEFAULTS[name])


def __getattr__(name: str) -> Any:
    # `knowledge.conf.ANSWER_THRESHOLD` reads the setting at access time.
    if name in DEFAULTS:
        return get(name)
    raise AttributeError(name)
