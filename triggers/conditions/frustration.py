"""{"kind": "frustration"}: signs of frustration in the message (shouting, "!!!", profanity, exasperation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from triggers import detectors
from triggers.conditions.base import Condition, Options

if TYPE_CHECKING:
    from triggers.engine import Evaluation


@dataclass(slots=True)
class Frustration(Condition):
    signals: tuple[str, ...] = detectors.FRUSTRATION_SIGNALS
    min_signals: int = 1
    kind = "frustration"

    @classmethod
    def parse(cls, o: Options) -> Self:
        signals = o.strings("signals", limit=10)
        for signal in signals:
            o.one_of("signals", signal, detectors.FRUSTRATION_SIGNALS)
        return cls(signals=signals, min_signals=o.integer("min_signals", low=1, high=len(signals)))

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        found = {name: text for name, text in ev.frustration.items() if name in self.signals}
        if len(found) >= self.min_signals:
            return True, {"kind": self.kind, "signals": found}
        return False, {}

    def _describe(self) -> str:
        return f"at least {self.min_signals} frustration signal(s) of {', '.join(self.signals)}"
