"""The answer/decline trade-off: what a threshold on the calibrated confidence costs and buys. Pure.

The bot answers when the calibrated probability that its article is right is at least the
threshold, and declines (offering a person) below it. Raising the threshold declines more foreign
questions and also more that it could have answered; these helpers measure both sides on scored
questions, so `evaluate answers` and the admin trade-off view say exactly the same thing.

Why the shipped default is 0.5 (knowledge.conf.ANSWER_THRESHOLD): declining costs one handoff, H
(a person answers). A wrong answer costs W: the visitor is misled, comes back or leaves, and usually
still needs that person. Answering with confidence p costs (1 - p) * W on average and declining costs
H, so answering pays off when p > 1 - H / W. We take a wrong answer to cost twice a handoff (the
handoff that follows it, plus as much again in the customer's time and trust), W = 2H, which gives
0.5: answer only when the bot is more likely right than wrong. The presets below are the same rule
with W = 4H (cautious) and W = 4H/3 (eager).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# name -> (threshold, how many handoffs a wrong answer is taken to cost)
PRESETS: dict[str, tuple[float, float]] = {
    "cautious": (0.75, 4.0),
    "balanced": (0.5, 2.0),
    "eager": (0.25, 4 / 3),
}
SWEEP = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def threshold_for_cost(wrong_answer_cost: float) -> float:
    """The threshold that minimises expected cost when a wrong answer costs this many handoffs."""
    if wrong_answer_cost <= 1:
        raise ValueError("A wrong answer must cost more than a handoff, or the bot should answer everything")
    return 1 - 1 / wrong_answer_cost


@dataclass(frozen=True)
class Scored:
    """One question as the bot saw it: its confidence, whether it should be answered, and if so whether
    the article the bot picked is right."""

    confidence: float
    in_scope: bool
    right: bool = False  # only meaningful when in_scope


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    in_scope_accuracy: float  # answerable questions answered with the right article
    oos_recall: float  # foreign questions declined
    in_scope_declined: float  # answerable questions declined (M of 100)
    oos_answered: float  # foreign questions answered, necessarily wrongly (N of 100)
    in_scope_wrong: float  # answerable questions answered with the wrong article

    def as_dict(self) -> dict[str, float]:
        return {name: round(getattr(self, name), 4) for name in self.__dataclass_fields__}


def operating_point(questions: Sequence[Scored], threshold: float) -> OperatingPoint:
    in_scope = [q for q in questions if q.in_scope]
    foreign = [q for q in questions if not q.in_scope]
    answered_right = sum(1 for q in in_scope if q.confidence >= threshold and q.right)
    answered_wrong = sum(1 for q in in_scope if q.confidence >= threshold and not q.right)
    declined = sum(1 for q in in_scope if q.confidence < threshold)
    foreign_declined = sum(1 for q in foreign if q.confidence < threshold)
    return OperatingPoint(
        threshold=threshold,
        in_scope_accuracy=_share(answered_right, len(in_scope)),
        oos_recall=_share(foreign_declined, len(foreign)),
        in_scope_declined=_share(declined, len(in_scope)),
        oos_answered=_share(len(foreign) - foreign_declined, len(foreign)),
        in_scope_wrong=_share(answered_wrong, len(in_scope)),
    )


def sweep(questions: Sequence[Scored], thresholds: Iterable[float] = SWEEP) -> list[OperatingPoint]:
    return [operating_point(questions, t) for t in thresholds]


def threshold_for_oos_recall(questions: Sequence[Scored], target: float) -> float | None:
    """The lowest threshold that declines at least `target` of the foreign questions (None: no foreign ones)."""
    if not 0 < target <= 1:
        raise ValueError(f"The target out-of-scope recall must be in (0, 1], not {target}")
    foreign = sorted(q.confidence for q in questions if not q.in_scope)
    if not foreign:
        return None
    needed = math.ceil(target * len(foreign) - 1e-9)
    # Declined means confidence < threshold: just above the needed-th lowest foreign confidence.
    cutoff = foreign[needed - 1]
    return min(1.0, math.nextafter(cutoff, math.inf))


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(a random positive scores above a random negative), ties counting half (Mann-Whitney U)."""
    if not positives or not negatives:
        return float("nan")
    ordered = sorted(negatives)
    total = 0.0
    for score in positives:
        below = bisect.bisect_left(ordered, score)
        ties = bisect.bisect_right(ordered, score) - below
        total += below + ties / 2
    return total / (len(positives) * len(negatives))


def separation(questions: Sequence[Scored]) -> dict[str, float]:
    """Two AUROCs of the confidence: answerable vs foreign questions, and right answers vs everything
    the bot should decline (foreign questions and answerable ones it would get wrong)."""
    in_scope = [q.confidence for q in questions if q.in_scope]
    foreign = [q.confidence for q in questions if not q.in_scope]
    right = [q.confidence for q in questions if q.in_scope and q.right]
    should_decline = [q.confidence for q in questions if not (q.in_scope and q.right)]
    return {
        "auroc_in_scope_vs_oos": round(auroc(in_scope, foreign), 4),
        "auroc_right_vs_decline": round(auroc(right, should_decline), 4),
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
