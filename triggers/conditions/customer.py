"""{"kind": "customer"}: a customer attribute (plan, tier, lifetime_value, "billing.plan") compared."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from triggers.conditions.base import Options
from triggers.conditions.comparison import Comparison

if TYPE_CHECKING:
    from triggers.engine import Evaluation


@dataclass(slots=True)
class Customer(Comparison):
    attribute: str = ""
    kind = "customer"

    @classmethod
    def parse(cls, o: Options) -> Self:
        attribute = o.get("attribute", required=True)
        if not isinstance(attribute, str) or not attribute.strip():
            raise o.error('\'attribute\' must name a customer attribute, e.g. "plan" or "lifetime_value"')
        return cls(attribute=attribute.strip(), **cls.parse_comparison(o))

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        present, actual = _lookup(ev.customer.attributes, self.attribute)
        if self.compare(actual, present=present):
            return True, {"kind": self.kind, "attribute": self.attribute, "value": actual}
        return False, {}

    def _describe(self) -> str:
        if self.op in ("exists", "not_exists"):
            return f"customer {self.attribute} {self.op.replace('_', ' ')}"
        return f"customer {self.attribute} {self.op} {self.value!r}"


def _lookup(attributes: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """'billing.plan' reads attributes["billing"]["plan"]; names are matched without case."""
    current: Any = attributes
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return False, None
        if part in current:
            current = current[part]
            continue
        folded = {str(key).casefold(): key for key in current}
        if part.casefold() not in folded:
            return False, None
        current = current[folded[part.casefold()]]
    return True, current
