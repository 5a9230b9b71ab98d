"""Rule validation: what a manager typing JSON in admin is told when something is wrong."""

import time

import pytest

from triggers.conditions import check_pattern_safety, validate_conditions


def test_valid_conditions_have_no_problems():
    assert (
        validate_conditions(
            [
                {"kind": "explicit_request"},
                {"kind": "keywords", "terms": ["refund"], "patterns": [r"order\s*#?\d{6}"]},
                {"kind": "group", "match": "any", "conditions": [{"kind": "sentiment", "below": -0.5}]},
            ]
        )
        == []
    )


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"kind": "explicit_request"}, "must be a JSON list"),
        ([], "add at least one condition"),
        ([{"kind": "telepathy"}], "\"kind\" must be one of 'explicit_request'"),
        (["refund"], 'must be an object with a "kind"'),
        ([{"kind": "keywords"}], "give 'terms' (words or phrases) or 'patterns'"),
        ([{"kind": "keywords", "terms": "refund", "colour": "red"}], "unknown option 'colour'"),
        ([{"kind": "sentiment", "below": "low"}], "'below' must be a number, got 'low'"),
        ([{"kind": "sentiment", "below": -3}], "'below' must be between -1 and 1"),
        ([{"kind": "sentiment", "scope": "drop"}], "'drop' is required"),
        (
            [{"kind": "customer", "attribute": "ltv", "op": ">", "value": "lots"}],
            "with op '>', 'value' must be a number",
        ),
        ([{"kind": "customer", "attribute": "tier", "op": "in", "value": "gold"}], "must be a non-empty list"),
        ([{"kind": "customer", "attribute": "tier", "op": "~", "value": 1}], "'op' must be one of"),
        ([{"kind": "bot", "signal": "sulking"}], "'signal' must be one of 'low_confidence'"),
        ([{"kind": "context", "field": "business_hours", "value": "maybe"}], 'value "open" or "closed"'),
        ([{"kind": "context", "field": "channel", "value": "web", "team": "x"}], "'team' only applies"),
        ([{"kind": "intent"}], "give a 'category'"),
        ([{"kind": "frustration", "signals": ["sighing"]}], "'signals' must be one of 'shouting'"),
        ([{"kind": "group", "conditions": []}], "needs at least one condition"),
        ([{"kind": "explicit_request", "negate": "yes"}], "'negate' must be true or false"),
        ([{"kind": "keywords", "patterns": ["(unclosed"]}], "is not a valid regular expression"),
    ],
)
def test_problems_say_what_to_fix(conditions, message):
    problems = validate_conditions(conditions)
    assert len(problems) == 1
    assert message in problems[0], problems[0]


def test_problems_name_where_they_are():
    problems = validate_conditions(
        [{"kind": "explicit_request"}, {"kind": "group", "conditions": [{"kind": "sentiment", "below": 5}]}]
    )
    assert problems[0].startswith("conditions[1] (group).conditions[0] (sentiment): 'below'")


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(\w+\s?)*$", r"(x+x+)+y"])
def test_nested_repetition_is_rejected(pattern):
    assert "repeats a group that itself repeats" in check_pattern_safety(pattern)


def test_overlapping_alternatives_in_a_repeat_are_caught_by_the_trial_run():
    started = time.monotonic()
    problem = check_pattern_safety("(a|aa)+$")
    assert "catastrophic backtracking" in problem
    assert time.monotonic() - started < 2, "the trial itself is bounded"


@pytest.mark.parametrize(
    "pattern", [r"\d+(?:,\d+)*", r"refund(s|ed)?", r"order\s*#?\d{5,}", r"(?:ab+c)+", r"\p{L}+ please"]
)
def test_ordinary_patterns_are_accepted(pattern):
    assert check_pattern_safety(pattern) is None


def test_validation_reports_unsafe_patterns():
    problems = validate_conditions([{"kind": "keywords", "patterns": ["fine", "(a+)+$"]}])
    assert problems == [
        "pattern '(a+)+$' repeats a group that itself repeats without limit, like (a+)+ or (\\w+\\s?)*, which "
        "can take exponential time on some messages; drop the inner or the outer quantifier"
    ]


def test_overlong_patterns_are_rejected():
    assert "keep patterns under 300" in check_pattern_safety("a" * 301)


@pytest.mark.parametrize("kind", [["keywords"], {"name": "keywords"}])
def test_a_kind_that_is_not_text_is_a_problem_not_a_crash(kind):
    # A list or an object is unhashable: looking it up among the kinds used to raise TypeError.
    problems = validate_conditions([{"kind": kind}])
    assert len(problems) == 1
    assert "\"kind\" must be one of 'explicit_request'" in problems[0], problems[0]


@pytest.mark.parametrize("category", [None, 0, False, [], {}, ["complaint"]])
def test_an_intent_category_that_is_not_text_is_a_problem_not_a_crash(category):
    # Falsy non-text categories used to slip past the check and fail on .strip() (AttributeError).
    problems = validate_conditions([{"kind": "intent", "category": category, "examples": ["my parcel is lost"]}])
    assert problems == ["conditions[0] (intent): 'category' must be text"]
