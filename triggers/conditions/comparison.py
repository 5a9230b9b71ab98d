"""Comparing a value with what a rule expects: the "op" and "value" of customer and context conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from triggers.conditions.base import Condition, Options
from triggers.text import normalize

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "exists", "not_exists")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value[:1] in "+-.0123456789" and value:
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


@lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    return normalize(text)


@dataclass(frozen=True, slots=True)
class Expected:
    """A value a rule compares with, folded once when the rule is compiled rather than per message."""

    value: Any
    number: float | None
    folded: str | None

    @classmethod
    def of(cls, value: Any) -> Expected:
        return cls(value, _as_number(value), _fold(value) if isinstance(value, str) else None)


def _same(actual: Any, expected: Expected) -> bool:
    """Equality a manager expects: numbers by value ("5000" = 5000), text without case or accents."""
    if expected.number is not None:
        number = _as_number(actual)
        if number is not None:
            return number == expected.number
    if expected.folded is not None and isinstance(actual, str):
        return _fold(actual) == expected.folded
    return actual == expected.value


def compare(actual: Any, op: str, expected: Any, *, present: bool = True) -> bool:
    """`expected` is what `Comparison` compiles: an Expected, a tuple of them for in / not_in, or None."""
    if op == "exists":
        return present and actual not in (None, "", [], {})
    if op == "not_exists":
        return not present or actual in (None, "", [], {})
    if not present or actual is None:
        return op in ("!=", "not_in")
    if op in ("in", "not_in"):
        values = actual if isinstance(actual, list) else (actual,)
        found = any(_same(value, option) for value in values for option in expected)
        return found if op == "in" else not found
    if op == "=":
        return _same(actual, expected)
    if op == "!=":
        return not _same(actual, expected)
    if op == "contains":
        if isinstance(actual, list):
            return any(_same(item, expected) for item in actual)
        return isinstance(actual, str) and _fold(str(expected.value)) in _fold(actual)
    number = _as_number(actual)
    if number is None or expected.number is None:
        return False
    if op == ">":
        return number > expected.number
    if op == ">=":
        return number >= expected.number
    if op == "<":
        return number < expected.number
    return number <= expected.number


@dataclass(slots=True)
class Comparison(Condition):
    """Base of the kinds that compare one value with "op" and "value"."""

    op: str = "="
    value: Any = None
    _expected: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in ("exists", "not_exists"):
            self._expected = None
        elif self.op in ("in", "not_in"):
            self._expected = tuple(Expected.of(item) for item in self.value)
        else:
            self._expected = Expected.of(self.value)

    def compare(self, actual: Any, *, present: bool = True) -> bool:
        return compare(actual, self.op, self._expected, present=present)

    @classmethod
    def parse_comparison(cls, o: Options) -> dict[str, Any]:
        """{"op", "value"}, checked against each other ("in" takes a list, ">" a number)."""
        op = o.choice("op", OPERATORS)
        if op in ("exists", "not_exists"):
            return {"op": op, "value": None}
        value = o.get("value", required=True)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise o.error(f"with op '{op}', 'value' must be a non-empty list, e.g. [\"gold\", \"platinum\"]")
        elif op in (">", ">=", "<", "<=") and _as_number(value) is None:
            raise o.error(f"with op '{op}', 'value' must be a number, got {value!r}")
        elif isinstance(value, dict | list):
            raise o.error(f"with op '{op}', 'value' must be a single value, got {value!r}")
        return {"op": op, "value": value}
