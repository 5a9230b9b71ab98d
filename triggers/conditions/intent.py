"""{"kind": "intent"}: the message is about a topic (a built-in category, a knowledge-base tag, or examples)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from triggers import detectors, phrases
from triggers.conditions.base import Condition, Options, rounded
from triggers.conditions.patterns import terms_pattern, typo_search, words_of

if TYPE_CHECKING:
    from triggers.engine import Evaluation

MAX_EXAMPLES = 200


@dataclass(slots=True)
class Intent(Condition):
    """The message is about a topic: closer to the topic's examples than to everyday questions.

    The engine resolves `topic` (a built-in category name or "rule:<id>:<n>" for a rule's own
    examples) to rows of its example matrix; keywords of a built-in category also count.
    """

    category: str = ""
    examples: tuple[str, ...] = ()
    min_similarity: float = 0.62
    margin: float = 0.05
    keywords: bool = True  # a built-in category's keywords count too
    knowledge_base: bool = True  # and the examples of articles tagged with the category
    topic: str = field(default="", init=False)
    _keywords_re: re.Pattern[str] | None = field(default=None, init=False, repr=False)
    _vocabulary: detectors.FuzzyVocabulary | None = field(default=None, init=False, repr=False)
    kind = "intent"
    uses_vectors = True

    def __post_init__(self) -> None:
        keywords = phrases.CATEGORIES.get(self.category, {}).get("keywords", ()) if self.keywords else ()
        if keywords:
            self._keywords_re = terms_pattern(keywords)
            self._vocabulary = detectors.fuzzy_vocabulary(frozenset(words_of(keywords)))

    @classmethod
    def parse(cls, o: Options) -> Self:
        category = o.get("category")
        if not isinstance(category, str):
            raise o.error("'category' must be text")
        examples = o.strings("examples", limit=MAX_EXAMPLES)
        if not category and not examples:
            built_in = ", ".join(repr(c) for c in phrases.CATEGORIES if c != "human_request")
            raise o.error(
                f"give a 'category' ({built_in}, or any knowledge-base tag) "
                "or 'examples' (phrases customers use for this topic)"
            )
        return cls(
            category=category.strip().casefold(),
            examples=examples,
            min_similarity=o.number("min_similarity", low=0, high=1),
            margin=o.number("margin", low=-1, high=1),
            keywords=o.boolean("keywords"),
            knowledge_base=o.boolean("knowledge_base"),
        )

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        name = self.category or "custom"
        if self._keywords_re is not None and (match := self._keywords_re.search(ev.message.normalized)):
            return True, {"kind": self.kind, "intent": name, "matched": match.group(0)}
        similarity = ev.intent_similarity(self.topic)
        if similarity is None:
            return False, {}
        best, contrast = similarity
        if best >= self.min_similarity and best - contrast >= self.margin:
            return True, {
                "kind": self.kind,
                "intent": name,
                "similarity": rounded(best),
                "contrast": rounded(contrast),
            }
        vocabulary = self._vocabulary
        if vocabulary is not None and (match := typo_search(self._keywords_re, ev, vocabulary)):
            return True, {"kind": self.kind, "intent": name, "matched": match, "typo": True}
        return False, {}

    def _describe(self) -> str:
        what = self.category or f"{len(self.examples)} example phrase(s)"
        return f"message is about {what} (similarity ≥ {self.min_similarity})"
