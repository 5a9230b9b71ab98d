"""The keyword pre-filters (engine.KeywordIndex, patterns.required_literal) change nothing but speed.

Hundreds of generated rules and messages (fixed seed) are evaluated twice: as shipped, and with
both pre-filters switched off so that every condition is tested. Terms and messages are built to
sit on the edges a pre-filter could get wrong: word boundaries, prefixes, case, accents, typos
(fuzzy terms), apostrophes, hyphens, underscores, negation, substrings, and regular expressions.
"""

from __future__ import annotations

import dataclasses
import random
import sys

import pytest
import regex

from triggers.conditions.keywords import Keywords
from triggers.conditions.patterns import REGEX_FLAGS, required_literal, term_leads
from triggers.engine import (
    ConversationContext,
    CustomerContext,
    KeywordIndex,
    MessageContext,
    RuleSpec,
    compile_rules,
    evaluate,
)
from triggers.text import normalize

WORDS = ["refund", "refunds", "réclamation", "e-mail", "don", "don't", "order", "invoice", "café", "wi-fi"]
WORDS += ["cancel", "cancellation", "account_id", "ÉLÈVE", "straße", "strasse", "crash", "crashes", "fix"]
TERMS = [*WORDS, "refund*", "cancel*", "REFUND", "Reclamation", "order number", "wi*", "#123", "*", "e*"]
TERMS += ["don*", "account", "id", "eleve", "strasse*", "my order", "refund  request", "caf"]
PATTERNS = [r"refund\s+(?:#?\d{4,}|number)", r"order\s*#?\d+", r"(?:can|could)cel", r"Invoice[-_ ]?\d", r"\bfix\b"]
PATTERNS += [
    r"caf[eé]",
    r"ref+und",
    r"e-?mail",
    r"(?i)CRASH",
    r"refund{e<=1}",
    r"(?:refund){e<=1}",
    r"[[:alpha:]]+ion",
    r"x?don't",
]
FILLER = ["please", "my", "the", "I", "need", "a", "now", "!!", "?", "#123", "1234", "number", "to", "request"]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1 :]  # a letter left out
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped


def _message(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 7)):
        word = rng.choice(WORDS + FILLER)
        roll = rng.random()
        if roll < 0.15:
            word = word.upper()
        elif roll < 0.25:
            word = _typo(word, rng)
        elif roll < 0.35:
            word = word + rng.choice(["s", "ed", "ing", "_x", "'s", "-", "."])
        elif roll < 0.4:
            word = rng.choice(["#", "(", "x"]) + word
        parts.append(word)
    return rng.choice([" ", "  ", ", ", "-"]).join(parts)


def _condition(rng: random.Random) -> dict:
    roll = rng.random()
    if roll < 0.6:
        condition = {"kind": "keywords", "terms": rng.sample(TERMS, rng.randint(1, 4))}
        if rng.random() < 0.2:
            condition["fuzzy"] = True
        if rng.random() < 0.15:
            condition["whole_words"] = False
    elif roll < 0.85:
        condition = {"kind": "keywords", "patterns": rng.sample(PATTERNS, rng.randint(1, 2))}
        if rng.random() < 0.3:
            condition["terms"] = rng.sample(TERMS, 2)
    elif roll < 0.93:
        condition = {"kind": "customer", "attribute": "plan", "op": "=", "value": "pro"}
    else:
        condition = {"kind": "group", "match": rng.choice(["all", "any"]), "conditions": [_condition(rng)]}
    if rng.random() < 0.15:
        condition["negate"] = True
    return condition


def _rules(count: int, rng: random.Random) -> list[RuleSpec]:
    return [
        RuleSpec(
            id=n,
            name=f"rule {n}",
            conditions=[_condition(rng) for _ in range(rng.randint(1, 3))],
            match=rng.choice(["all", "any"]),
            order=n,
            handoff=rng.random() < 0.3,
        )
        for n in range(1, count + 1)
    ]


def _without_prefilters(specs: list[RuleSpec]):
    """The same rules, compiled so that every condition is tested on every message."""
    ruleset = compile_rules(specs)
    for rule in ruleset.rules:
        for condition in (c for top in rule.conditions for c in top.walk()):
            if isinstance(condition, Keywords):
                condition._patterns_need = (None,) * len(condition.patterns)
    return dataclasses.replace(ruleset, keyword_index=KeywordIndex(initial=(None,) * ruleset.slot_count))


def _outcome(result) -> tuple:
    traces = [
        (t.rule_id, t.matched, [(c.description, c.matched, c.details) for c in t.conditions]) for t in result.traces
    ]
    return [(m.rule_id, m.details) for m in result.matches], result.handoff, result.notes, traces


def test_prefilters_change_no_result():
    rng = random.Random(12)
    specs = _rules(300, rng)
    fast, every = compile_rules(specs), _without_prefilters(specs)
    assert sum(1 for n in fast.keyword_index.initial if n is not None) > 50  # the index is in use
    conversation, fired = ConversationContext(), 0
    for n in range(400):
        text = _message(rng)
        customer = CustomerContext({"plan": rng.choice(["pro", "free"])})
        explain = n % 4 == 0
        got = evaluate(fast, MessageContext(text), conversation, customer, explain=explain)
        want = evaluate(every, MessageContext(text), conversation, customer, explain=explain)
        assert _outcome(got) == _outcome(want), text
        fired += len(got.matches)
    assert fired > 400 * 5  # the messages do hit the rules


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("don", "I don't know"),  # an apostrophe ends a word run, not a token
        ("reclamation", "Réclamation!"),
        ("REFUND", "refund please"),
        ("refund*", "REFUNDS now"),
        ("e-mail", "my E-Mail"),
        ("order number", "order   number 5"),
        ("straße", "STRASSE 5"),
        ("café", "cafe"),
    ],
)
def test_index_keeps_what_the_terms_match(term, text):
    ruleset = compile_rules([RuleSpec(1, "r", [{"kind": "keywords", "terms": [term]}])])
    assert ruleset.keyword_index.initial == ((False, {}),)  # the condition is indexed
    assert [m.rule_id for m in evaluate(ruleset, MessageContext(text)).matches] == [1]


def test_index_leaves_out_what_it_cannot_see():
    assert term_leads(["#123"]) is None
    assert term_leads(["*"]) is None
    assert term_leads(["Wi-Fi*", "refund*", "my order"]) == (frozenset({"wi", "my"}), frozenset({"refund"}))
    for options in ({"fuzzy": True}, {"whole_words": False}, {"negate": True}, {"patterns": ["x"]}):
        ruleset = compile_rules([RuleSpec(1, "r", [{"kind": "keywords", "terms": ["refund"], **options}])])
        assert ruleset.keyword_index.initial == (None,)


def test_required_literal():
    assert required_literal(r"refund\s+(?:#?\d{4,}|number)") == "refund"
    assert required_literal(r"INVOICE\s*\d") == "invoice"
    assert required_literal(r"ab?cd") == "cd"
    for pattern in (r"refund|invoice", r"\d+", r"refund{e<=1}", r"(?i)refund", r"[[:alpha:]]x", r"caf\u00e9"):
        assert required_literal(pattern) in (None, "caf"), pattern


def test_no_folded_character_matches_ascii_without_being_it():
    """required_literal's premise: in normalised text, an ASCII letter or digit matches
    case-insensitively only itself (the Kelvin sign and the long s are folded away first)."""
    ascii_alnum = regex.compile("[a-z0-9]", REGEX_FLAGS)
    assert ascii_alnum.search("\u212a")  # unfolded, the Kelvin sign does match "k"
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        rest = "".join(char for char in normalize(chr(code)) if not (char.isascii() and char.isalnum()))
        assert not (rest and ascii_alnum.search(rest)), hex(code)
