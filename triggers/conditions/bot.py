"""{"kind": "bot"}: the bot is struggling (low confidence, rephrased questions, repeats, thumbs down)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from triggers.conditions.base import Condition, Options, rounded
from triggers.text import content_words, normalize, word_overlap

if TYPE_CHECKING:
    from triggers.engine import Evaluation

SIGNALS = ("low_confidence", "consecutive_low_confidence", "rephrasing", "repeating", "negative_feedback")


@dataclass(slots=True)
class BotStruggling(Condition):
    signal: str = "low_confidence"
    below: float = 0.5
    count: int | None = None  # None: 2 answers in a row for consecutive_low_confidence, else 1
    min_similarity: float = 0.8
    within: int = 3
    kind = "bot"

    def __post_init__(self) -> None:
        if self.count is None:
            self.count = 2 if self.signal == "consecutive_low_confidence" else 1

    @property
    def uses_previous_vectors(self) -> bool:  # type: ignore[override]
        return self.signal == "rephrasing"

    @classmethod
    def parse(cls, o: Options) -> Self:
        return cls(
            signal=o.choice("signal", SIGNALS, required=True),
            below=o.number("below", low=0, high=1),
            count=o.integer("count", high=20),
            min_similarity=o.number("min_similarity", low=0, high=1),
            within=o.integer("within", high=20),
        )

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        conversation = ev.conversation
        base = {"kind": self.kind, "signal": self.signal}
        if self.signal == "low_confidence":
            scored = [c for c in conversation.bot_confidences if c is not None]
            if scored and scored[-1] < self.below:
                return True, {**base, "confidence": rounded(scored[-1])}
        elif self.signal == "consecutive_low_confidence":
            recent = conversation.bot_confidences[-self.count :]
            if len(recent) == self.count and all(c is not None and c < self.below for c in recent):
                return True, {**base, "confidences": [rounded(c) for c in recent]}
        elif self.signal == "rephrasing":
            found = ev.rephrased(self.within, self.min_similarity)
            if found is not None:
                return True, {**base, "previous": found[0][:200], "similarity": rounded(found[1])}
        elif self.signal == "repeating":
            # The same answer to the same need: two different questions that one article answers
            # (shipping times, then shipping to Canada) are the bot doing its job, not repeating.
            answers, questions = conversation.bot_texts[-2:], conversation.bot_questions[-2:]
            if (
                len(answers) == 2
                and _same_answer(answers[0], answers[1]) >= SAME_ANSWER
                and len(questions) == 2
                and _same_need(questions[0], questions[1])
            ):
                return True, {**base, "answer": answers[-1][:200], "questions": [q[:200] for q in questions]}
        elif conversation.negative_feedback_count >= self.count:
            return True, {**base, "count": conversation.negative_feedback_count}
        return False, {}

    def _describe(self) -> str:
        return {
            "low_confidence": f"the bot's last answer had confidence below {self.below}",
            "consecutive_low_confidence": f"the bot's last {self.count} answers had confidence below {self.below}",
            "rephrasing": f"the visitor rephrased one of their last {self.within} messages",
            "repeating": "the bot gave the same answer twice in a row to the same question",
            "negative_feedback": f"the visitor rated {self.count} or more bot answers unhelpful",
        }[self.signal]


SAME_ANSWER = 0.9
# Two questions are one need when most of their content words are shared ("where is my order" /
# "where's my order??"), or when both say the same without content words ("help?", "help?").
SAME_NEED = 0.5


def _same_need(a: str, b: str) -> bool:
    if not a or not b:  # an answer whose question we do not know
        return False
    words_a, words_b = content_words(a), content_words(b)
    if not words_a or not words_b:
        return normalize(a) == normalize(b)
    return word_overlap(words_a, words_b) >= SAME_NEED


def _same_answer(a: str, b: str) -> float:
    """How alike two answers are: their content words in common, or 1/0 for answers without any."""
    words_a, words_b = content_words(a), content_words(b)
    if not words_a or not words_b:
        return 1.0 if normalize(a) == normalize(b) else 0.0
    return word_overlap(words_a, words_b)
