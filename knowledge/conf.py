"""Tunable constants of the knowledge base, each overridable by a HANDOFF_<NAME> Django setting.

The answer threshold is an environment setting of config/settings.py (HANDOFF_ANSWER_THRESHOLD) and
is read from there; the rest have their defaults here.

The calibration coefficients come from bench/knowledge_calibrate.py (fitted on CLINC150's train
split by 5-fold cross-validation plus oos_train, never on val); re-run it after changing retrieval
or the probe. The threshold is not fitted to any data set: it follows from what a wrong answer costs
against a handoff (knowledge/tradeoff.py); bench/knowledge_results.md shows the whole trade-off.
Values are read at call time, so tests can use pytest-django's `settings` fixture.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

# Defined, with their defaults, in config/settings.py.
IN_SETTINGS = frozenset({"ANSWER_THRESHOLD"})

DEFAULTS: dict[str, Any] = {
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
    # robots.txt may ask for a longer delay, up to this (Crawl-delay: 86400 would park the worker a day).
    "CRAWL_MAX_DELAY_SECONDS": 5.0,
    "CRAWL_CONNECT_TIMEOUT_SECONDS": 5.0,
    "CRAWL_TIMEOUT_SECONDS": 10.0,  # between two reads
    # One page, redirects and every byte included: a server dripping a byte every few seconds ends here.
    "CRAWL_REQUEST_DEADLINE_SECONDS": 30.0,
    # Requests per page wanted (error pages and stubs count too): a maze of short pages ends.
    "CRAWL_FETCHES_PER_PAGE": 3,
    "CRAWL_MAX_SECONDS": 30 * 60,  # a whole crawl
    "CRAWL_MAX_BYTES": 5_000_000,  # one page, decompressed
    "CRAWL_ROBOTS_MAX_BYTES": 500_000,
    # A queued or running source with no progress written for this long is a dead job (see sources_recover_stale).
    "SOURCE_STALE_SECONDS": 15 * 60,
    # Manager uploads (knowledge/documents.py): a file above this size is refused in the form, a PDF is
    # read for at most this many pages and seconds, and a document's text is capped (an 8 KB PDF once
    # became 2,903 chunks, a 75 KB one took 212 s of CPU).
    "UPLOAD_MAX_BYTES": 20 * 1024 * 1024,
    "PDF_MAX_PAGES": 300,
    "PDF_MAX_SECONDS": 30.0,
    "DOCUMENT_MAX_CHARS": 300_000,
    "CRAWL_USER_AGENT": "HandoffBot/1.0 (+support knowledge base crawler)",
    # What the bot says to a message that is only a greeting, a thank-you or a goodbye (knowledge/smalltalk.py).
    "SMALL_TALK_REPLIES": {
        "greeting": "Hello! What can I help you with today?",
        "thanks": "You're welcome! Is there anything else I can help with?",
        "goodbye": "Thanks for getting in touch. Goodbye!",
    },
    # Articles a probe may cover; above it the bot uses hybrid retrieval alone (weights grow with it).
    "PROBE_MAX_ARTICLES": 2000,
    # --- Learning from conversations (knowledge.learning). Cosine similarities are of all-MiniLM-L6-v2
    # vectors: paraphrases of one question score 0.6-0.8, different questions of the same shop up to ~0.6
    # ("reset my password" / "delete my account" is 0.58).
    # An answer with a calibrated confidence below this was a guess, even when above the threshold.
    "SUGGEST_LOW_CONFIDENCE": 0.5,
    # Hybrid retrieval score of an agent's answer against an article above which it *is* that article.
    "SUGGEST_ANSWER_MATCH_SCORE": 0.7,
    # A new question this close to a pending suggestion's question is the same suggestion.
    "SUGGEST_DEDUPE_SIMILARITY": 0.72,
    # ... or at least this close when the two answers are this close too (the same answer, reworded).
    "SUGGEST_DEDUPE_LOOSE_SIMILARITY": 0.55,
    "SUGGEST_DEDUPE_ANSWER_SIMILARITY": 0.8,
    # Example questions are all paraphrases of one article; only near-identical ones are merged.
    "SUGGEST_EXAMPLE_DEDUPE_SIMILARITY": 0.9,
    # A question joins a content-gap cluster when this close to the cluster's centroid.
    "SUGGEST_GAP_SIMILARITY": 0.6,
    "SUGGEST_GAP_MIN_CONVERSATIONS": 3,
    # CSAT at or below this is negative: the agent's answer is not a lesson worth keeping.
    "SUGGEST_NEGATIVE_CSAT": 2,
    # Nightly generation looks this far back (idempotent, so overlapping runs are harmless).
    "SUGGEST_NIGHTLY_LOOKBACK_DAYS": 7,
}


def get(name: str) -> Any:
    if name in IN_SETTINGS:
        return getattr(settings, f"HANDOFF_{name}")
    return getattr(settings, f"HANDOFF_{name}", DEFAULTS[name])


def __getattr__(name: str) -> Any:
    # `knowledge.conf.ANSWER_THRESHOLD` reads the setting at access time.
    if name in DEFAULTS or name in IN_SETTINGS:
        return get(name)
    raise AttributeError(name)
