"""The sentiment scorer the product uses: a small classifier on the sentence embedding plus VADER.

Three classes (negative, neutral, positive) from a softmax regression over the message's
all-MiniLM-L6-v2 embedding (the one nlp.embeddings computes) and VADER's four scores.
The score stored on a message is p(positive) - p(negative), in [-1, 1].

The weights (triggers/sentiment_model.npz, a few KB) are trained by bench/train_sentiment.py on
tweets, reviews and support requests with a fixed seed; its report (scores on each source held out,
against VADER alone) is stored next to them in sentiment_model.json. The probabilities already carry
the class prior of support traffic (mostly negative). The label is "negative" once p(negative)
reaches the model's negative_threshold, set in training from what a wrong call costs (missing an
upset customer costs twice a needless handoff, so 1/3), otherwise the likelier of the other two.
numpy, VADER and the embedding model load on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlp.embeddings import embed, text_vector
from triggers.vectors import numpy

if TYPE_CHECKING:
    import numpy as np

LABELS = ("negative", "neutral", "positive")
MODEL_PATH = Path(__file__).with_name("sentiment_model.npz")
REPORT_PATH = Path(__file__).with_name("sentiment_model.json")
VADER_FEATURES = ("compound", "neg", "pos", "neu")
# VADER was built for short social-media text; very long pastes only slow it down.
MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class SentimentResult:
    score: float  # p(positive) - p(negative)
    label: str  # "negative" from p(negative) >= the model's negative_threshold, else the likelier other class
    probabilities: dict[str, float]


def score_texts(texts: Sequence[str], *, vectors: Any = None) -> list[SentimentResult]:
    """Score many texts; pass their embeddings if you have them (they are computed otherwise)."""
    if not texts:
        return []
    np = numpy()
    texts = [text[:MAX_CHARS] for text in texts]
    if vectors is None:
        vectors = embed(list(texts))
    model = _model()
    logits = features(np.asarray(vectors, dtype=np.float32), texts) @ model["weights"] + model["bias"]
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    threshold = model["negative_threshold"]
    results = []
    for row in probabilities.tolist():
        score = round(row[2] - row[0], 4)
        label = decide(row, threshold)
        results.append(SentimentResult(score, label, dict(zip(LABELS, (round(p, 4) for p in row), strict=True))))
    return results


def score_text(text: str, *, vector: Any = None) -> SentimentResult:
    return score_texts([text], vectors=None if vector is None else [vector])[0]


def message_sentiment(text: str) -> SentimentResult:
    """A visitor message's score, from the embedding the rules and retrieval share (nlp.embeddings)."""
    vector = text_vector(text) if len(text) <= MAX_CHARS else None  # a longer one is scored on its start
    return score_text(text, vector=vector)


def decide(probabilities: Sequence[float], negative_threshold: float) -> str:
    """The label for (p(negative), p(neutral), p(positive)); bench/train_sentiment.py validates with it."""
    if probabilities[0] >= negative_threshold:
        return "negative"
    return "neutral" if probabilities[1] >= probabilities[2] else "positive"


def features(vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """The classifier's input: the embedding and VADER's compound, neg, pos and neu scores.

    bench/train_sentiment.py trains on exactly this, so the two cannot drift apart.
    """
    np = numpy()
    analyzer = _vader()
    lexical = np.array(
        [[scores[name] for name in VADER_FEATURES] for scores in map(analyzer.polarity_scores, texts)],
        dtype=np.float32,
    ).reshape(len(texts), len(VADER_FEATURES))
    return np.hstack([vectors, lexical])


def vader_label(text: str) -> str:
    """VADER alone with its authors' thresholds (compound ±0.05): the baseline the model must beat."""
    compound = _vader().polarity_scores(text[:MAX_CHARS])["compound"]
    return "negative" if compound <= -0.05 else "positive" if compound >= 0.05 else "neutral"


def model_report() -> dict:
    return json.loads(REPORT_PATH.read_text(encoding="utf-8")) if REPORT_PATH.exists() else {}


_lock = threading.Lock()


def _model() -> dict[str, Any]:
    with _lock:
        return _load_model()


@lru_cache(maxsize=1)
def _load_model() -> dict[str, Any]:
    np = numpy()
    with np.load(MODEL_PATH) as data:
        return {
            "weights": data["weights"].astype(np.float32),
            "bias": data["bias"].astype(np.float32),
            "negative_threshold": float(data["negative_threshold"]),
        }


@lru_cache(maxsize=1)
def _vader():
    # Loaded on first use like numpy (tests/triggers/test_imports.py checks the cheap import).
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: PLC0415 - heavy lazy load

    return SentimentIntensityAnalyzer()
