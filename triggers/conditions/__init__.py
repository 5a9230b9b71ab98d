"""Trigger conditions: the JSON a manager writes, checked, and compiled into fast matchers. Pure.

A rule's conditions are a JSON list; each item is an object with a "kind" (see KINDS) and the
options of that kind. Any item may say "negate": true. A "group" item nests a list with its own
"match" ("all" or "any"), so conditions compose to any depth:

    [{"kind": "customer", "attribute": "plan", "op": "in", "value": ["pro", "enterprise"]},
     {"kind": "group", "match": "any", "conditions": [
         {"kind": "explicit_request"},
         {"kind": "sentiment", "scope": "average", "last": 3, "below": -0.4}]}]

Each kind is one class in its own module (its options are its fields, with their defaults; its
`parse` checks them; `_test` and `_describe` sit beside it); REGISTRY maps a kind to its class.
`parse_condition` turns one item into a Condition or raises RuleError with a message that says
what to change; the admin form shows those messages. Each Condition's `test` gets an evaluation
(see triggers.engine) holding the message, conversation and customer, and returns
(matched, details): details are the values that matched, stored with the firing.
"""

from __future__ import annotations

import time
from typing import Any

from triggers.conditions.base import COMMON_OPTIONS, Condition, Options, RuleError, evaluate_all
from triggers.conditions.bot import BotStruggling
from triggers.conditions.context import Context
from triggers.conditions.customer import Customer
from triggers.conditions.explicit_request import ExplicitRequest
from triggers.conditions.frustration import Frustration
from triggers.conditions.group import Group
from triggers.conditions.intent import Intent
from triggers.conditions.keywords import Keywords
from triggers.conditions.patterns import MAX_PATTERNS_PER_RULE, check_pattern_safety
from triggers.conditions.sentiment import Sentiment

__all__ = [
    "KINDS",
    "REGISTRY",
    "Condition",
    "Intent",
    "RuleError",
    "check_pattern_safety",
    "evaluate_all",
    "parse_condition",
    "parse_conditions",
    "validate_conditions",
]

# In the order the admin's help and error messages list them.
REGISTRY: dict[str, type[Condition]] = {
    kind.kind: kind
    for kind in (ExplicitRequest, Keywords, Sentiment, Frustration, Intent, Customer, BotStruggling, Context, Group)
}
KINDS = tuple(REGISTRY)


def parse_conditions(items: Any, *, where: str = "conditions", depth: int = 0) -> tuple[Condition, ...]:
    if not isinstance(items, list):
        raise RuleError(f'{where} must be a JSON list of condition objects, e.g. [{{"kind": "explicit_request"}}]')
    conditions = tuple(parse_condition(item, where=f"{where}[{i}]", depth=depth) for i, item in enumerate(items))
    if depth == 0:
        # Per condition the limit is Keywords' own; a rule of many conditions is counted whole.
        count = sum(len(c.patterns) for top in conditions for c in top.walk() if isinstance(c, Keywords))
        if count > MAX_PATTERNS_PER_RULE:
            raise RuleError(
                f"{where}: the rule has {count} regular expressions; the most allowed is {MAX_PATTERNS_PER_RULE} "
                "(use 'terms' for plain words, or split the rule)"
            )
    return conditions


def parse_condition(item: Any, *, where: str = "condition", depth: int = 0) -> Condition:
    if not isinstance(item, dict):
        raise RuleError(f'{where} must be an object with a "kind", got {item!r}')
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise RuleError(f'{where}: "kind" must be one of {", ".join(map(repr, KINDS))}, got {kind!r}')
    where = f"{where} ({kind})"
    negate = item.get("negate", False)
    if not isinstance(negate, bool):
        raise RuleError(f"{where}: 'negate' must be true or false")
    label = item.get("label", "")
    if not isinstance(label, str):
        raise RuleError(f"{where}: 'label' must be text")
    cls = REGISTRY[kind]
    allowed = cls.option_names()
    unknown = set(item) - allowed - COMMON_OPTIONS
    if unknown:
        raise RuleError(
            f"{where}: unknown option {', '.join(map(repr, sorted(unknown)))}; "
            f"allowed: {', '.join(map(repr, sorted(allowed)))}"
        )
    condition = cls.parse(Options(item, cls, where=where, depth=depth, parse_list=parse_conditions))
    condition.negate = negate
    condition.label = label
    return condition


def validate_conditions(items: Any, *, check_patterns: bool = True) -> list[str]:
    """Every problem with a rule's conditions, as messages a manager can act on (empty when fine).

    With check_patterns, each condition's slower checks run too (regular expressions are
    trial-run for catastrophic backtracking, up to a few hundred milliseconds per pattern), so
    it belongs to saving, not matching.
    """
    try:
        conditions = parse_conditions(items)
    except RuleError as error:
        return [str(error)]
    if not conditions:
        return ['add at least one condition, e.g. [{"kind": "explicit_request"}]']
    problems = []
    if check_patterns:
        started = time.monotonic()
        for condition in (c for top in conditions for c in top.walk()):
            problems.extend(condition.problems())
            if time.monotonic() - started > 5:  # pragma: no cover - a safety net for huge rules
                problems.append("too many patterns to check at once; split the rule")
                break
    return problems
