"""{"kind": "group"}: nested conditions with their own "match" ("all" or "any"), to any depth up to MAX_DEPTH."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from triggers.conditions.base import Condition, Options, evaluate_all

if TYPE_CHECKING:
    from triggers.engine import Evaluation

MAX_DEPTH = 5


@dataclass(slots=True)
class Group(Condition):
    match: str = "all"
    conditions: tuple[Condition, ...] = ()
    kind = "group"

    @classmethod
    def parse(cls, o: Options) -> Self:
        if o.depth >= MAX_DEPTH:
            raise o.error(f"groups nest at most {MAX_DEPTH} deep")
        match = o.choice("match", ("all", "any"))
        conditions = o.conditions("conditions")
        if not conditions:
            raise o.error("'conditions' needs at least one condition")
        return cls(match=match, conditions=conditions)

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        return evaluate_all(self.conditions, self.match, ev)

    def _describe(self) -> str:
        joiner = " AND " if self.match == "all" else " OR "
        return "(" + joiner.join(condition.describe() for condition in self.conditions) + ")"

    def walk(self) -> Iterator[Condition]:
        yield self
        for condition in self.conditions:
            yield from condition.walk()
