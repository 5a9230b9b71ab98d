"""{"kind": "keywords"}: words, phrases ("refund*" for prefixes) or regular expressions in the message."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

import regex

from triggers import detectors
from triggers.conditions.base import Condition, Options
from triggers.conditions.patterns import (
    MAX_PATTERN_LENGTH,
    check_pattern_safety,
    compile_user_pattern,
    required_literal,
    term_leads,
    terms_pattern,
    typo_search,
    words_of,
)

if TYPE_CHECKING:
    from triggers.engine import Evaluation

# A user pattern gets this long per message before it counts as "no match" (and the timeout is
# noted in the firing details): one bad pattern cannot stall the inline pipeline.
REGEX_TIMEOUT_SECONDS = 0.01
MAX_TERMS = 500
MAX_PATTERNS = 50


@dataclass(slots=True)
class Keywords(Condition):
    """Words, phrases ("refund*" for prefixes) or regular expressions; accents and case ignored."""

    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    whole_words: bool = True
    fuzzy: bool = False
    _terms_re: re.Pattern[str] | None = field(default=None, init=False, repr=False)
    _patterns_re: tuple[regex.Pattern, ...] = field(default=(), init=False, repr=False)
    _patterns_need: tuple[str | None, ...] = field(default=(), init=False, repr=False)  # required_literal
    _vocabulary: detectors.FuzzyVocabulary | None = field(default=None, init=False, repr=False)
    kind = "keywords"

    def __post_init__(self) -> None:
        self._terms_re = terms_pattern(self.terms, whole_words=self.whole_words) if self.terms else None
        self._patterns_re = tuple(compile_user_pattern(p, whole_words=self.whole_words) for p in self.patterns)
        self._patterns_need = tuple(required_literal(p) for p in self.patterns)
        if self.fuzzy and self.terms:
            self._vocabulary = detectors.fuzzy_vocabulary(frozenset(words_of(self.terms)))

    @classmethod
    def parse(cls, o: Options) -> Self:
        terms = o.strings("terms", limit=MAX_TERMS)
        patterns = o.strings("patterns", limit=MAX_PATTERNS)
        if not terms and not patterns:
            raise o.error("give 'terms' (words or phrases) or 'patterns' (regular expressions)")
        for pattern in patterns:
            try:
                compile_user_pattern(pattern, whole_words=False)
            except regex.error as error:
                raise o.error(f"pattern {pattern!r} is not a valid regular expression ({error})") from None
            if len(pattern) > MAX_PATTERN_LENGTH:
                raise o.error(f"pattern {pattern!r} is longer than {MAX_PATTERN_LENGTH} characters")
        return cls(terms=terms, patterns=patterns, whole_words=o.boolean("whole_words"), fuzzy=o.boolean("fuzzy"))

    def required_words(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """The word runs (exact, prefixes) of which the message needs one for this to match, when
        nothing but literal terms can make it match; None otherwise (patterns, typos, substrings,
        negation: the engine then always tests it). See engine.KeywordIndex."""
        if self.patterns or self.fuzzy or not self.whole_words or self.negate:
            return None
        return term_leads(self.terms)

    def problems(self) -> list[str]:
        """Trial-runs each pattern for catastrophic backtracking (up to a few hundred ms each)."""
        return [
            f"pattern {pattern!r} {problem}"
            for pattern in self.patterns
            if (problem := check_pattern_safety(pattern)) is not None
        ]

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        text = ev.message.normalized
        if self._terms_re is not None and (match := self._terms_re.search(text)):
            return True, {"kind": self.kind, "matched": match.group(0)}
        if self._vocabulary is not None and (match := typo_search(self._terms_re, ev, self._vocabulary)):
            return True, {"kind": self.kind, "matched": match, "typo": True}
        timed_out = []
        for source, compiled, needed in zip(self.patterns, self._patterns_re, self._patterns_need, strict=True):
            # The message's budget for all patterns of all rules (thread CPU time, as regex's timeout).
            if ev.pattern_seconds_left <= 0:
                ev.notes.append(f"pattern {source!r} and later ones skipped: the message's pattern time is spent")
                break
            # Most messages lack the pattern's literal: a substring test instead of a timed regex
            # search (whose timeout and clock reads cost ten times the test).
            if needed is not None and needed not in text:
                continue
            started = time.thread_time()
            try:
                match = compiled.search(text, timeout=min(REGEX_TIMEOUT_SECONDS, ev.pattern_seconds_left))
            except TimeoutError:
                timed_out.append(source)
                continue
            finally:
                ev.pattern_seconds_left -= time.thread_time() - started
            if match:
                return True, {"kind": self.kind, "pattern": source, "matched": match.group(0)}
        if timed_out:
            ev.notes.extend(f"pattern {source!r} timed out" for source in timed_out)
        return False, {}

    def _describe(self) -> str:
        shown = [repr(term) for term in self.terms[:5]] + [f"/{p}/" for p in self.patterns[:3]]
        more = len(self.terms) + len(self.patterns) - len(shown)
        return "message contains " + " or ".join(shown) + (f" (+{more} more)" if more > 0 else "")
