"""Managers' regular expressions cannot stall the pipeline (issue 16, item 9).

The save check trial-runs a pattern on adversarial text made of the characters it can match,
punctuation included; a rule holds at most MAX_PATTERNS_PER_RULE patterns; and one message spends
at most MESSAGE_PATTERN_BUDGET_SECONDS of CPU in patterns, however many rules saved around the
check hold slow ones.
"""

import time

import pytest

from triggers.conditions import check_pattern_safety, validate_conditions
from triggers.conditions.patterns import MAX_PATTERNS_PER_RULE, MESSAGE_PATTERN_BUDGET_SECONDS
from triggers.engine import ConversationContext, CustomerContext, MessageContext, RuleSpec, compile_rules, evaluate


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?:-|--)+$",  # overlapping alternatives of punctuation
        r"(.*a){12}",  # polynomial: exponential before a word character when wrapped for whole words
        r"(?:\.|\.\.)+$",
        r"(?:_|__)+!",
        r"(a|aa)+$",
        r"(\w+\s?)*$",
    ],
)
def test_the_save_check_refuses_patterns_that_backtrack_on_their_own_characters(pattern):
    assert check_pattern_safety(pattern) is not None
    assert validate_conditions([{"kind": "keywords", "patterns": [pattern]}])


@pytest.mark.parametrize(
    "pattern",
    [
        r"\brefund\b",
        r"order\s+#?\d{5,8}",
        r"(?:,\d+)*",
        r"cancel(l?ed|ling)? my (order|subscription)",
        r"^\s*$",
        r"[a-z]+@[a-z]+\.com",
        r"---+",
    ],
)
def test_ordinary_patterns_still_pass(pattern):
    assert check_pattern_safety(pattern) is None


def test_a_rule_holds_at_most_the_pattern_limit_across_its_conditions():
    third = MAX_PATTERNS_PER_RULE // 3 + 1  # each condition within its own limit of 50
    conditions = [
        {"kind": "keywords", "patterns": [f"word{i}" for i in range(third)]},
        {"kind": "keywords", "patterns": [f"more{i}" for i in range(third)]},
        {
            "kind": "group",
            "match": "any",
            "conditions": [{"kind": "keywords", "patterns": [f"other{i}" for i in range(third)]}],
        },
    ]
    (problem,) = validate_conditions(conditions, check_patterns=False)
    assert f"the most allowed is {MAX_PATTERNS_PER_RULE}" in problem


def test_one_message_spends_at_most_the_budget_in_patterns_saved_around_the_check():
    # Ten rules of 100 slow patterns each, as if written to the database directly: 1,000 patterns at
    # 10 ms each would hold one message for ten seconds of CPU.
    half = [r"(?:-|--)+$"] * (MAX_PATTERNS_PER_RULE // 2)
    slow = [
        {
            "kind": "group",
            "match": "any",
            "conditions": [
                {"kind": "keywords", "patterns": half, "whole_words": False},
                {"kind": "keywords", "patterns": half, "whole_words": False},
            ],
        }
    ]
    specs = [
        RuleSpec(id=i, name=f"slow {i}", conditions=slow, match="all", order=i, handoff=True, enabled=True)
        for i in range(1, 11)
    ]
    ruleset = compile_rules(specs)
    assert len(ruleset) == 10

    started = time.thread_time()
    result = evaluate(ruleset, MessageContext("-" * 40 + "!"), ConversationContext(), CustomerContext({}))
    spent = time.thread_time() - started

    assert result.matches == ()
    assert spent < MESSAGE_PATTERN_BUDGET_SECONDS + 0.2, f"{spent:.2f} s of CPU for one message"
    assert any("pattern time is spent" in note for note in result.notes)
