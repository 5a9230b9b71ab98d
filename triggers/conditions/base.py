"""What every condition kind shares: the error, the options reader its `parse` uses, negation, groups.

A kind is a dataclass whose fields are its options, spelled as in the rule's JSON, with their
defaults: the reader takes an option left out from the field, so a default is written once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from triggers.engine import Evaluation

# Options every kind takes: they belong to the base class, not to a kind's own list.
COMMON_OPTIONS = frozenset({"kind", "negate", "label"})


class RuleError(ValueError):
    """A condition that cannot be used as written; the message says what to fix."""


@dataclass(slots=True)
class Condition:
    """Base: `negate` flips the result; `label` is an optional human name for admin and logs.

    A kind sets `kind` and implements `parse` (from its JSON options), `_test` (against one
    message) and `_describe` (for the admin's test panel), and `problems` when saving it needs
    a slower check than parsing.
    """

    negate: bool = field(default=False, kw_only=True)
    label: str = field(default="", kw_only=True)
    # Where this condition's result is kept during one evaluation (engine.compile_rules numbers the
    # distinct conditions of a rule set, so one written into many rules is tested once per message);
    # -1: not kept.
    slot: int = field(default=-1, init=False, repr=False, compare=False)

    kind: ClassVar[str] = ""
    uses_sentiment: ClassVar[bool] = False
    uses_vectors: ClassVar[bool] = False
    uses_previous_vectors: ClassVar[bool] = False
    uses_business_hours: ClassVar[bool] = False

    @classmethod
    def parse(cls, options: Options) -> Self:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def option_names(cls) -> frozenset[str]:
        """The options a kind takes: its fields that a rule may set (the engine sets the others)."""
        return _option_names(cls)

    def test(self, ev: Evaluation) -> tuple[bool, dict]:
        slot = self.slot
        if slot >= 0 and (kept := ev.results[slot]) is not None:
            return kept
        matched, details = self._test(ev)
        if self.negate:
            result = not matched, {"kind": self.kind, "negated": True, **({"was": details} if details else {})}
        else:
            result = matched, details
        if slot >= 0:
            ev.results[slot] = result
        return result

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        text = self.label or self._describe()
        return f"NOT ({text})" if self.negate else text

    def _describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def problems(self) -> list[str]:
        """Problems too slow to look for on every parse (run when a rule is saved)."""
        return []

    def walk(self) -> Iterator[Condition]:
        yield self


@cache
def _option_names(cls: type[Condition]) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init) - COMMON_OPTIONS


@cache
def _defaults(cls: type[Condition]) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}


class Options:
    """One condition object of a rule, read with checks. Every message says where and what to fix.

    An option left out takes the default of the kind's field and is checked like a given one
    (so "min_signals" 1 with no "signals" is still reported); a default of None means "not set".
    """

    def __init__(
        self,
        item: Mapping[str, Any],
        kind: type[Condition],
        *,
        where: str,
        depth: int,
        parse_list: Callable[..., tuple[Condition, ...]],
    ) -> None:
        self.item = item
        self.where = where
        self.depth = depth
        self._defaults = _defaults(kind)
        self._parse_list = parse_list

    def error(self, message: str) -> RuleError:
        return RuleError(f"{self.where}: {message}")

    def get(self, key: str, *, required: bool = False) -> Any:
        if key in self.item:
            return self.item[key]
        if required or key not in self._defaults:
            raise self.error(f"'{key}' is required")
        return self._defaults[key]

    def number(self, key: str, *, low: float, high: float, required: bool = False) -> float | None:
        value = self.get(key, required=required)
        if value is None and key not in self.item:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(f"'{key}' must be a number, got {value!r}")
        if value < low or value > high:
            raise self.error(f"'{key}' must be between {low} and {high}, got {value!r}")
        return float(value)

    def integer(self, key: str, *, low: int = 1, high: int = 1000) -> int | None:
        value = self.get(key)
        if value is None and key not in self.item:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(f"'{key}' must be a whole number from {low} to {high}, got {value!r}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.error(f"'{key}' must be true or false, got {value!r}")
        return value

    def strings(self, key: str, *, limit: int) -> tuple[str, ...]:
        value = self.get(key)
        if isinstance(value, str):
            value = [value]
        # A tuple is a field default; JSON only ever gives lists.
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item.strip() for item in value):
            raise self.error(f"'{key}' must be a list of non-empty strings")
        if len(value) > limit:
            raise self.error(f"'{key}' has {len(value)} items; the most allowed is {limit}")
        return tuple(item.strip() for item in value)

    def choice(self, key: str, choices: Sequence[str], *, required: bool = False) -> str:
        return self.one_of(key, self.get(key, required=required), choices)

    def one_of(self, key: str, value: Any, choices: Sequence[str]) -> Any:
        if value not in choices:
            raise self.error(f"'{key}' must be one of {', '.join(map(repr, choices))}, got {value!r}")
        return value

    def conditions(self, key: str) -> tuple[Condition, ...]:
        """A nested list of conditions (a group's), one level deeper."""
        return self._parse_list(self.get(key, required=True), where=f"{self.where}.{key}", depth=self.depth + 1)


def evaluate_all(conditions: Sequence[Condition], match: str, ev: Evaluation) -> tuple[bool, dict]:
    """Short-circuit: "all" stops at the first miss, "any" at the first hit.

    A result already kept for the message (Condition.test) is read here without the call: most
    conditions of a large rule set are shared, or ruled out by the keyword index beforehand.
    """
    results = ev.results
    if match == "any":
        for condition in conditions:
            slot = condition.slot
            kept = results[slot] if slot >= 0 else None
            matched, details = kept if kept is not None else condition.test(ev)
            if matched:
                return True, {"kind": "group", "match": "any", "matched": [details]}
        return False, {}
    found = []
    for condition in conditions:
        slot = condition.slot
        kept = results[slot] if slot >= 0 else None
        matched, details = kept if kept is not None else condition.test(ev)
        if not matched:
            return False, {}
        found.append(details)
    return bool(conditions), {"kind": "group", "match": "all", "matched": found}


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
