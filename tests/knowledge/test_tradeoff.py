"""The operating-point maths behind the answer threshold, `evaluate answers` and the admin trade-off view."""

import math

import pytest

from knowledge.tradeoff import (
    PRESETS,
    Scored,
    auroc,
    operating_point,
    separation,
    sweep,
    threshold_for_cost,
    threshold_for_oos_recall,
)

# Four answerable questions (three the bot would pick the right article for) and four foreign ones.
QUESTIONS = [
    Scored(confidence=0.95, in_scope=True, right=True),
    Scored(confidence=0.80, in_scope=True, right=True),
    Scored(confidence=0.45, in_scope=True, right=True),
    Scored(confidence=0.60, in_scope=True, right=False),
    Scored(confidence=0.70, in_scope=False),
    Scored(confidence=0.30, in_scope=False),
    Scored(confidence=0.20, in_scope=False),
    Scored(confidence=0.05, in_scope=False),
]


def test_the_break_even_threshold_follows_from_what_a_wrong_answer_costs():
    # Answering at confidence p costs (1 - p) * W; declining costs one handoff: equal at p = 1 - 1/W.
    assert threshold_for_cost(2.0) == pytest.approx(0.5)
    assert threshold_for_cost(4.0) == pytest.approx(0.75)
    assert threshold_for_cost(4 / 3) == pytest.approx(0.25)
    for threshold, cost in PRESETS.values():
        assert threshold == pytest.approx(threshold_for_cost(cost))
    with pytest.raises(ValueError, match="must cost more than a handoff"):
        threshold_for_cost(1.0)


def test_an_operating_point_counts_both_kinds_of_mistake():
    point = operating_point(QUESTIONS, 0.5)

    assert point.in_scope_accuracy == pytest.approx(2 / 4)  # 0.95 and 0.80; 0.45 declined, 0.60 wrong
    assert point.in_scope_declined == pytest.approx(1 / 4)
    assert point.in_scope_wrong == pytest.approx(1 / 4)
    assert point.oos_recall == pytest.approx(3 / 4)  # 0.70 is answered
    assert point.oos_answered == pytest.approx(1 / 4)


def test_a_higher_threshold_never_declines_fewer_questions_of_either_kind():
    points = sweep(QUESTIONS, [0.0, 0.1, 0.25, 0.5, 0.75, 1.0])

    recalls = [p.oos_recall for p in points]
    declined = [p.in_scope_declined for p in points]
    assert recalls == sorted(recalls) and declined == sorted(declined)
    assert (points[0].oos_recall, points[0].in_scope_accuracy) == (0.0, 0.75)  # answers everything
    assert (points[-1].oos_recall, points[-1].in_scope_accuracy) == (1.0, 0.0)  # declines everything


def test_the_threshold_for_a_target_recall_is_the_lowest_that_meets_it():
    threshold = threshold_for_oos_recall(QUESTIONS, 0.75)

    assert 0.30 < threshold <= 0.3 + 1e-9  # just above the third-lowest foreign confidence
    assert operating_point(QUESTIONS, threshold).oos_recall == 0.75
    assert operating_point(QUESTIONS, 0.30).oos_recall == 0.5  # at the confidence itself it is answered
    assert operating_point(QUESTIONS, threshold_for_oos_recall(QUESTIONS, 1.0)).oos_recall == 1.0
    assert threshold_for_oos_recall([q for q in QUESTIONS if q.in_scope], 0.9) is None
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        threshold_for_oos_recall(QUESTIONS, 1.5)


def test_auroc_is_the_share_of_pairs_ranked_right_with_ties_as_half():
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.1], [0.9]) == 0.0
    assert auroc([0.5], [0.5]) == 0.5
    assert auroc([0.9, 0.4], [0.5, 0.1]) == pytest.approx(3 / 4)
    assert math.isnan(auroc([], [0.1]))


def test_separation_reports_in_scope_against_foreign_and_right_against_should_decline():
    result = separation(QUESTIONS)

    # in scope 0.95 0.80 0.45 0.60 vs foreign 0.70 0.30 0.20 0.05: 14 of 16 pairs ordered right
    assert result["auroc_in_scope_vs_oos"] == pytest.approx(14 / 16, abs=1e-4)
    # right 0.95 0.80 0.45 vs should-decline 0.60 0.70 0.30 0.20 0.05: 13 of 15 pairs
    assert result["auroc_right_vs_decline"] == pytest.approx(13 / 15, abs=1e-4)
