"""{"kind": "explicit_request"}: the visitor asks for a person (button, phrases, or similar wording)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from triggers.conditions.base import Condition, Options, rounded

if TYPE_CHECKING:
    from triggers.engine import Evaluation


@dataclass(slots=True)
class ExplicitRequest(Condition):
    """The visitor asks for a person: the widget's button, or their words (typos tolerated)."""

    button: bool = True
    phrases: bool = True
    semantic: bool = True
    min_similarity: float = 0.65
    margin: float = 0.05
    kind = "explicit_request"

    @property
    def uses_vectors(self) -> bool:  # type: ignore[override]
        return self.semantic

    @classmethod
    def parse(cls, o: Options) -> Self:
        return cls(
            button=o.boolean("button"),
            phrases=o.boolean("phrases"),
            semantic=o.boolean("semantic"),
            min_similarity=o.number("min_similarity", low=0, high=1),
            margin=o.number("margin", low=-1, high=1),
        )

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        if self.button and ev.message.is_explicit_button:
            return True, {"kind": self.kind, "via": "button"}
        if self.phrases:
            detection = ev.person_request
            if detection.matched:
                return True, {"kind": self.kind, "via": "phrase", "matched": detection.evidence}
        if self.semantic:
            similarity = ev.intent_similarity("human_request")
            if similarity is not None:
                best, contrast = similarity
                if best >= self.min_similarity and best - contrast >= self.margin:
                    return True, {"kind": self.kind, "via": "similarity", "similarity": rounded(best)}
        return False, {}

    def _describe(self) -> str:
        switches = (("button", self.button), ("phrases", self.phrases), ("similar", self.semantic))
        ways = [way for way, on in switches if on]
        return f"visitor asks for a person ({', '.join(ways)})"
