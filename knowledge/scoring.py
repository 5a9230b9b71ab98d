"""Calibrated confidences: the probability that the chosen article is the right answer.

Both functions are logistic fits (bench/knowledge_calibrate.py); keeping them here, pure and small,
lets the benchmark and the live bot compute exactly the same numbers.
"""

from __future__ import annotations

import math

from knowledge import conf


def probe_confidence(*, probability: float, similarity: float) -> float:
    """From the probe's top probability and the best cosine to that article's example questions."""
    a, b, c = conf.get("PROBE_CALIBRATION")
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return _sigmoid(a * math.log(p / (1 - p)) + b * similarity + c)


def retrieval_confidence(*, score: float, margin: float) -> float:
    """From the hybrid score of the top article and its lead over the next article."""
    a, b, c = conf.get("RETRIEVAL_CALIBRATION")
    return _sigmoid(a * score + b * margin + c)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)
