"""{"kind": "sentiment"}: the message's score, the recent average, a drop, or the conversation's score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from triggers.conditions.base import Condition, Options, mean, rounded

if TYPE_CHECKING:
    from triggers.engine import Evaluation

SCOPES = ("message", "average", "drop", "conversation")


@dataclass(slots=True)
class Sentiment(Condition):
    """The message's score, the recent average, a drop, or the conversation's running score."""

    scope: str = "message"
    below: float | None = None
    last: int = 3
    drop: float | None = None
    kind = "sentiment"
    uses_sentiment = True

    @classmethod
    def parse(cls, o: Options) -> Self:
        scope = o.choice("scope", SCOPES)
        last = o.integer("last", low=1, high=20)
        if scope == "drop":
            drop = o.number("drop", low=0, high=2, required=True)
            return cls(scope=scope, drop=drop, below=o.number("below", low=-1, high=1), last=last)
        return cls(scope=scope, below=o.number("below", low=-1, high=1, required=True), last=last)

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        current = ev.message.sentiment
        if current is None:  # not scored yet: the sentiment phase will look again
            return False, {}
        details: dict[str, Any] = {"kind": self.kind, "scope": self.scope, "score": rounded(current)}
        if self.scope == "message":
            return current < self.below, {**details, "below": self.below}
        if self.scope == "conversation":
            running = ev.conversation.sentiment
            matched = running is not None and running < self.below
            return matched, {**details, "conversation": rounded(running), "below": self.below}
        history = ev.conversation.previous_visitor_sentiments
        if self.scope == "average":
            window = (*history, current)[-self.last :]
            if len(window) < self.last:
                return False, {}
            average = mean(window)
            return average < self.below, {**details, "average": rounded(average), "last": self.last}
        # "drop": how far this message fell below the visitor's recent mood.
        earlier = history[-self.last :]
        if not earlier:
            return False, {}
        baseline = mean(earlier)
        fall = baseline - current
        matched = fall >= self.drop and (self.below is None or current < self.below)
        return matched, {**details, "baseline": rounded(baseline), "drop": rounded(fall)}

    def _describe(self) -> str:
        if self.scope == "message":
            return f"message sentiment below {self.below}"
        if self.scope == "conversation":
            return f"conversation sentiment below {self.below}"
        if self.scope == "average":
            return f"average sentiment of the last {self.last} visitor messages below {self.below}"
        extra = f" and below {self.below}" if self.below is not None else ""
        return f"sentiment drops by {self.drop} or more from the last {self.last} messages{extra}"
