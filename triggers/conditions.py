"""Trigger conditions: the JSON a manager writes, checked, and compiled into fast matchers. Pure.

A rule's conditions are a JSON list; each item is an object with a "kind" (see KINDS) and the
options of that kind. Any item may say "negate": true. A "group" item nests a list with its own
"match" ("all" or "any"), so conditions compose to any depth:

    [{"kind": "customer", "attribute": "plan", "op": "in", "value": ["pro", "enterprise"]},
     {"kind": "group", "match": "any", "conditions": [
         {"kind": "explicit_request"},
         {"kind": "sentiment", "scope": "average", "last": 3, "below": -0.4}]}]

`parse_condition` turns one item into a Condition or raises RuleError with a message that says
what to change; the admin form shows those messages. Each Condition's `test` gets an evaluation
(see triggers.engine) holding the message, conversation and customer, and returns
(matched, details): details are the values that matched, stored with the firing.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import regex

from triggers import detectors, phrases
from triggers.text import normalize, strip_accents, tokens

if TYPE_CHECKING:
    from triggers.engine import Evaluation

# A user pattern gets this long per message before it counts as "no match" (and the timeout is
# noted in the firing details): one bad pattern cannot stall the inline pipeline.
REGEX_TIMEOUT_SECONDS = 0.01
# Saving a pattern runs it against adversarial strings with this budget each.
REGEX_VALIDATION_TIMEOUT_SECONDS = 0.05
MAX_PATTERN_LENGTH = 300
MAX_TERMS = 500
MAX_EXAMPLES = 200
MAX_DEPTH = 5
REGEX_FLAGS = regex.IGNORECASE | regex.FULLCASE | regex.UNICODE | regex.V0

DEFAULT_INTENT_SIMILARITY = 0.62
DEFAULT_INTENT_MARGIN = 0.05
DEFAULT_PERSON_MARGIN = 0.05
DEFAULT_PERSON_SIMILARITY = 0.65


class RuleError(ValueError):
    """A condition that cannot be used as written; the message says what to fix."""


# --- Helpers ----------------------------------------------------------------------------------------


def _require(options: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in options:
        raise RuleError(f"{where}: '{key}' is required")
    return options[key]


def _number(value: Any, key: str, where: str, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(f"{where}: '{key}' must be a number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise RuleError(f"{where}: '{key}' must be between {low} and {high}, got {value!r}")
    return float(value)


def _integer(value: Any, key: str, where: str, *, low: int = 1, high: int = 1000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(f"{where}: '{key}' must be a whole number from {low} to {high}, got {value!r}")
    return value


def _strings(value: Any, key: str, where: str, *, limit: int) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise RuleError(f"{where}: '{key}' must be a list of non-empty strings")
    if len(value) > limit:
        raise RuleError(f"{where}: '{key}' has {len(value)} items; the most allowed is {limit}")
    return tuple(item.strip() for item in value)


def _choice(value: Any, key: str, where: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise RuleError(f"{where}: '{key}' must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _check_keys(options: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(options) - allowed - {"kind", "negate", "label"}
    if unknown:
        raise RuleError(
            f"{where}: unknown option {', '.join(map(repr, sorted(unknown)))}; "
            f"allowed: {', '.join(map(repr, sorted(allowed)))}"
        )


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- Comparisons (customer attributes and context fields) ------------------------------------------

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
    """`expected` is an Expected (a tuple of them for in / not_in), or a plain value."""
    if op == "exists":
        return present and actual not in (None, "", [], {})
    if op == "not_exists":
        return not present or actual in (None, "", [], {})
    if not present or actual is None:
        return op in ("!=", "not_in")
    if op in ("in", "not_in"):
        options = tuple(e if isinstance(e, Expected) else Expected.of(e) for e in expected)
        values = actual if isinstance(actual, list) else (actual,)
        found = any(_same(value, option) for value in values for option in options)
        return found if op == "in" else not found
    expected = expected if isinstance(expected, Expected) else Expected.of(expected)
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


def _compiled_value(op: str, value: Any) -> Any:
    if op in ("exists", "not_exists"):
        return None
    if op in ("in", "not_in"):
        return tuple(Expected.of(item) for item in value)
    return Expected.of(value)


def _parse_comparison(options: Mapping[str, Any], where: str) -> tuple[str, Any]:
    op = _choice(options.get("op", "="), "op", where, OPERATORS)
    if op in ("exists", "not_exists"):
        return op, None
    value = _require(options, "value", where)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleError(f"{where}: with op '{op}', 'value' must be a non-empty list, e.g. [\"gold\", \"platinum\"]")
    elif op in (">", ">=", "<", "<=") and _as_number(value) is None:
        raise RuleError(f"{where}: with op '{op}', 'value' must be a number, got {value!r}")
    elif isinstance(value, dict | list):
        raise RuleError(f"{where}: with op '{op}', 'value' must be a single value, got {value!r}")
    return op, value


# --- Regular expressions ---------------------------------------------------------------------------


def compile_user_pattern(pattern: str, *, whole_words: bool) -> regex.Pattern:
    """Compile a manager's pattern for matching against normalised (accent-free, folded) text."""
    source = strip_accents(pattern)
    if whole_words:
        source = rf"(?<!\w)(?:{source})(?!\w)"
    return regex.compile(source, REGEX_FLAGS)


def check_pattern_safety(pattern: str) -> str | None:
    """Why a pattern is unsafe or invalid, or None. Run on save, never per message.

    Two checks: a static one for the classic catastrophic shape (a repeated group that itself
    contains an unbounded repeat, like (a+)+ or (\\w+\\s?)*), and a bounded trial against
    adversarial strings built from the pattern's own characters, which catches the shapes the
    static check cannot see (like (a|aa)+$).
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"is {len(pattern)} characters long; keep patterns under {MAX_PATTERN_LENGTH}"
    try:
        compiled = compile_user_pattern(pattern, whole_words=False)
    except regex.error as error:
        return f"is not a valid regular expression ({error})"
    if _has_nested_unbounded_repeat(pattern):
        return (
            "repeats a group that itself repeats without limit, like (a+)+ or (\\w+\\s?)*, which can take "
            "exponential time on some messages; drop the inner or the outer quantifier"
        )
    for sample in _adversarial_samples(pattern):
        try:
            compiled.search(sample, timeout=REGEX_VALIDATION_TIMEOUT_SECONDS)
        except TimeoutError:
            return (
                f"took over {int(REGEX_VALIDATION_TIMEOUT_SECONDS * 1000)} ms on a {len(sample)}-character test "
                "message (catastrophic backtracking); avoid alternatives that overlap inside a repeat, like (a|aa)+"
            )
    return None


def _has_nested_unbounded_repeat(pattern: str) -> bool:
    """The classic shape: an unbounded repeat of a body made only of repeats, like (a+)+ or (\\w+\\s?)*.

    A body with a required character ("(?:,\\d+)*") splits the text unambiguously and is fine.
    """
    try:
        from re import _constants as constants
        from re import _parser as parser
    except ImportError:  # pragma: no cover - other Pythons: the trial run still applies
        return False
    try:
        parsed = parser.parse(strip_accents(pattern))
    except Exception:  # syntax only the `regex` module knows: the trial run still applies
        return False
    repeats = {constants.MAX_REPEAT, constants.MIN_REPEAT, getattr(constants, "POSSESSIVE_REPEAT", None)}

    def unwrap(items) -> list:
        items = list(items)
        while len(items) == 1 and items[0][0] == constants.SUBPATTERN:
            items = list(items[0][1][-1])
        return items

    def only_repeats(items) -> bool:
        body = unwrap(items)
        has_unbounded = any(op in repeats and arg[1] == constants.MAXREPEAT for op, arg in body)
        return has_unbounded and all(op in repeats for op, _ in body)

    def walk(items) -> bool:
        for op, argument in items:
            if op in repeats:
                _low, high, sub = argument
                if high == constants.MAXREPEAT and only_repeats(sub):
                    return True
                if walk(sub):
                    return True
            elif op == constants.SUBPATTERN:
                if walk(argument[-1]):
                    return True
            elif op == constants.BRANCH:
                if any(walk(branch) for branch in argument[1]):
                    return True
            elif op in (constants.ASSERT, constants.ASSERT_NOT) and walk(argument[1]):
                return True
        return False

    return walk(parsed)


def _adversarial_samples(pattern: str) -> Iterator[str]:
    characters = {char for char in strip_accents(pattern).casefold() if char.isalnum()} or {"a"}
    for char in [*sorted(characters)[:12], "a", "1", " "]:
        yield char * 3000 + "!"
        yield (char + " ") * 1500 + "!"
    literal = "".join(char for char in strip_accents(pattern).casefold() if char.isalnum() or char == " ")
    if literal:
        yield (literal * (3000 // len(literal) + 1))[:3000] + "!"


# --- Conditions ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Condition:
    """Base: `negate` flips the result; `label` is an optional human name for admin and logs."""

    negate: bool = field(default=False, kw_only=True)
    label: str = field(default="", kw_only=True)

    kind = ""
    uses_sentiment = False
    uses_vectors = False
    uses_previous_vectors = False
    uses_business_hours = False

    def test(self, ev: Evaluation) -> tuple[bool, dict]:
        matched, details = self._test(ev)
        if self.negate:
            return not matched, {"kind": self.kind, "negated": True, **({"was": details} if details else {})}
        return matched, details

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        text = self.label or self._describe()
        return f"NOT ({text})" if self.negate else text

    def _describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def walk(self) -> Iterator[Condition]:
        yield self


@dataclass(slots=True)
class Group(Condition):
    match: str = "all"
    conditions: tuple[Condition, ...] = ()
    kind = "group"

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        return evaluate_all(self.conditions, self.match, ev)

    def _describe(self) -> str:
        joiner = " AND " if self.match == "all" else " OR "
        return "(" + joiner.join(condition.describe() for condition in self.conditions) + ")"

    def walk(self) -> Iterator[Condition]:
        yield self
        for condition in self.conditions:
            yield from condition.walk()


def evaluate_all(conditions: Sequence[Condition], match: str, ev: Evaluation) -> tuple[bool, dict]:
    """Short-circuit: "all" stops at the first miss, "any" at the first hit."""
    found = []
    for condition in conditions:
        matched, details = condition.test(ev)
        if matched:
            found.append(details)
            if match == "any":
                return True, {"kind": "group", "match": "any", "matched": found}
        elif match == "all":
            return False, {}
    if match == "all":
        return bool(conditions), {"kind": "group", "match": "all", "matched": found}
    return False, {}


@dataclass(slots=True)
class ExplicitRequest(Condition):
    """The visitor asks for a person: the widget's button, or their words (typos tolerated)."""

    button: bool = True
    phrases: bool = True
    semantic: bool = True
    min_similarity: float = DEFAULT_PERSON_SIMILARITY
    margin: float = DEFAULT_PERSON_MARGIN
    kind = "explicit_request"

    @property
    def uses_vectors(self) -> bool:  # type: ignore[override]
        return self.semantic

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
                    return True, {"kind": self.kind, "via": "similarity", "similarity": _rounded(best)}
        return False, {}

    def _describe(self) -> str:
        switches = (("button", self.button), ("phrases", self.phrases), ("similar", self.semantic))
        ways = [way for way, on in switches if on]
        return f"visitor asks for a person ({', '.join(ways)})"


@dataclass(slots=True)
class Keywords(Condition):
    """Words, phrases ("refund*" for prefixes) or regular expressions; accents and case ignored."""

    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    whole_words: bool = True
    fuzzy: bool = False
    _terms_re: re.Pattern[str] | None = field(default=None, init=False, repr=False)
    _patterns_re: tuple[regex.Pattern, ...] = field(default=(), init=False, repr=False)
    _vocabulary: detectors.FuzzyVocabulary | None = field(default=None, init=False, repr=False)
    kind = "keywords"

    def __post_init__(self) -> None:
        self._terms_re = terms_pattern(self.terms, whole_words=self.whole_words) if self.terms else None
        self._patterns_re = tuple(compile_user_pattern(p, whole_words=self.whole_words) for p in self.patterns)
        if self.fuzzy and self.terms:
            self._vocabulary = detectors.fuzzy_vocabulary(frozenset(_words_of(self.terms)))

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        text = ev.message.normalized
        if self._terms_re is not None and (match := self._terms_re.search(text)):
            return True, {"kind": self.kind, "matched": match.group(0)}
        if self._vocabulary is not None and (match := _typo_search(self._terms_re, ev, self._vocabulary)):
            return True, {"kind": self.kind, "matched": match, "typo": True}
        timed_out = []
        for source, compiled in zip(self.patterns, self._patterns_re, strict=True):
            try:
                match = compiled.search(text, timeout=REGEX_TIMEOUT_SECONDS)
            except TimeoutError:
                timed_out.append(source)
                continue
            if match:
                return True, {"kind": self.kind, "pattern": source, "matched": match.group(0)}
        ev.notes.extend(f"pattern {source!r} timed out" for source in timed_out)
        return False, {}

    def _describe(self) -> str:
        shown = [repr(term) for term in self.terms[:5]] + [f"/{p}/" for p in self.patterns[:3]]
        more = len(self.terms) + len(self.patterns) - len(shown)
        return "message contains " + " or ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def _words_of(terms: Sequence[str]) -> set[str]:
    return {word for term in terms for word in tokens(normalize(term.rstrip("*")))}


def _typo_search(pattern: re.Pattern[str] | None, ev: Evaluation, vocabulary: detectors.FuzzyVocabulary) -> str | None:
    """Search again with typos of the terms' words corrected ("copmlaint" -> "complaint")."""
    if pattern is None:
        return None
    corrected = ev.corrected(vocabulary)
    if corrected is not None and (match := pattern.search(corrected)):
        return match.group(0)
    return None


def terms_pattern(terms: Sequence[str], *, whole_words: bool = True) -> re.Pattern[str]:
    """One alternation for many literal terms (escaped, so it cannot backtrack badly)."""
    alternatives = []
    for term in sorted({normalize(term) for term in terms}, key=len, reverse=True):
        prefix = term.endswith("*")
        body = re.escape(term.rstrip("*").strip()).replace(r"\ ", r"\s+")
        alternatives.append(body + (r"\w*" if prefix else ""))
    source = "(?:" + "|".join(alternatives) + ")"
    if whole_words:
        source = rf"(?<!\w){source}(?!\w)"
    return re.compile(source)


@dataclass(slots=True)
class Sentiment(Condition):
    """The message's score, the recent average, a drop, or the conversation's running score."""

    scope: str = "message"
    below: float | None = None
    last: int = 3
    drop: float | None = None
    kind = "sentiment"
    uses_sentiment = True

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        current = ev.message.sentiment
        if current is None:  # not scored yet: the sentiment phase will look again
            return False, {}
        details: dict[str, Any] = {"kind": self.kind, "scope": self.scope, "score": _rounded(current)}
        if self.scope == "message":
            return current < self.below, {**details, "below": self.below}
        if self.scope == "conversation":
            running = ev.conversation.sentiment
            matched = running is not None and running < self.below
            return matched, {**details, "conversation": _rounded(running), "below": self.below}
        history = ev.conversation.previous_visitor_sentiments
        if self.scope == "average":
            window = (*history, current)[-self.last :]
            if len(window) < self.last:
                return False, {}
            average = _mean(window)
            return average < self.below, {**details, "average": _rounded(average), "last": self.last}
        # "drop": how far this message fell below the visitor's recent mood.
        earlier = history[-self.last :]
        if not earlier:
            return False, {}
        baseline = _mean(earlier)
        fall = baseline - current
        matched = fall >= self.drop and (self.below is None or current < self.below)
        return matched, {**details, "baseline": _rounded(baseline), "drop": _rounded(fall)}

    def _describe(self) -> str:
        if self.scope == "message":
            return f"message sentiment below {self.below}"
        if self.scope == "conversation":
            return f"conversation sentiment below {self.below}"
        if self.scope == "average":
            return f"average sentiment of the last {self.last} visitor messages below {self.below}"
        extra = f" and below {self.below}" if self.below is not None else ""
        return f"sentiment drops by {self.drop} or more from the last {self.last} messages{extra}"


@dataclass(slots=True)
class Frustration(Condition):
    signals: tuple[str, ...] = detectors.FRUSTRATION_SIGNALS
    min_signals: int = 1
    kind = "frustration"

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        found = {name: text for name, text in ev.frustration.items() if name in self.signals}
        if len(found) >= self.min_signals:
            return True, {"kind": self.kind, "signals": found}
        return False, {}

    def _describe(self) -> str:
        return f"at least {self.min_signals} frustration signal(s) of {', '.join(self.signals)}"


@dataclass(slots=True)
class Intent(Condition):
    """The message is about a topic: closer to the topic's examples than to everyday questions.

    The engine resolves `topic` (a built-in category name or "rule:<id>:<n>" for a rule's own
    examples) to rows of its example matrix; keywords of a built-in category also count.
    """

    category: str = ""
    examples: tuple[str, ...] = ()
    min_similarity: float = DEFAULT_INTENT_SIMILARITY
    margin: float = DEFAULT_INTENT_MARGIN
    use_keywords: bool = True
    knowledge_base: bool = True
    topic: str = ""
    _keywords_re: re.Pattern[str] | None = field(default=None, init=False, repr=False)
    _vocabulary: detectors.FuzzyVocabulary | None = field(default=None, init=False, repr=False)
    kind = "intent"
    uses_vectors = True

    def __post_init__(self) -> None:
        keywords = phrases.CATEGORIES.get(self.category, {}).get("keywords", ()) if self.use_keywords else ()
        if keywords:
            self._keywords_re = terms_pattern(keywords)
            self._vocabulary = detectors.fuzzy_vocabulary(frozenset(_words_of(keywords)))

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
                "similarity": _rounded(best),
                "contrast": _rounded(contrast),
            }
        vocabulary = self._vocabulary
        if vocabulary is not None and (match := _typo_search(self._keywords_re, ev, vocabulary)):
            return True, {"kind": self.kind, "intent": name, "matched": match, "typo": True}
        return False, {}

    def _describe(self) -> str:
        what = self.category or f"{len(self.examples)} example phrase(s)"
        return f"message is about {what} (similarity ≥ {self.min_similarity})"


@dataclass(slots=True)
class Customer(Condition):
    attribute: str = ""
    op: str = "="
    value: Any = None
    _expected: Any = field(default=None, init=False, repr=False)
    kind = "customer"

    def __post_init__(self) -> None:
        self._expected = _compiled_value(self.op, self.value)

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        present, actual = _lookup(ev.customer.attributes, self.attribute)
        if compare(actual, self.op, self._expected, present=present):
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


BOT_SIGNALS = ("low_confidence", "consecutive_low_confidence", "rephrasing", "repeating", "negative_feedback")


@dataclass(slots=True)
class BotStruggling(Condition):
    signal: str = "low_confidence"
    below: float = 0.5
    count: int = 2
    min_similarity: float = 0.8
    within: int = 3
    kind = "bot"

    @property
    def uses_previous_vectors(self) -> bool:  # type: ignore[override]
        return self.signal == "rephrasing"

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        conversation = ev.conversation
        base = {"kind": self.kind, "signal": self.signal}
        if self.signal == "low_confidence":
            scored = [c for c in conversation.bot_confidences if c is not None]
            if scored and scored[-1] < self.below:
                return True, {**base, "confidence": _rounded(scored[-1])}
        elif self.signal == "consecutive_low_confidence":
            recent = conversation.bot_confidences[-self.count :]
            if len(recent) == self.count and all(c is not None and c < self.below for c in recent):
                return True, {**base, "confidences": [_rounded(c) for c in recent]}
        elif self.signal == "rephrasing":
            found = ev.rephrased(self.within, self.min_similarity)
            if found is not None:
                return True, {**base, "previous": found[0][:200], "similarity": _rounded(found[1])}
        elif self.signal == "repeating":
            answers = conversation.bot_texts[-2:]
            if len(answers) == 2 and _token_overlap(answers[0], answers[1]) >= 0.9:
                return True, {**base, "answer": answers[-1][:200]}
        elif conversation.negative_feedback_count >= self.count:
            return True, {**base, "count": conversation.negative_feedback_count}
        return False, {}

    def _describe(self) -> str:
        return {
            "low_confidence": f"the bot's last answer had confidence below {self.below}",
            "consecutive_low_confidence": f"the bot's last {self.count} answers had confidence below {self.below}",
            "rephrasing": f"the visitor rephrased one of their last {self.within} messages",
            "repeating": "the bot gave the same answer twice in a row",
            "negative_feedback": f"the visitor rated {self.count} or more bot answers unhelpful",
        }[self.signal]


_STOPWORDS = frozenset(
    {
        *("a", "an", "the", "i", "me", "my", "you", "your", "it", "is", "are", "to", "of", "and", "or", "for"),
        *("in", "on", "at", "with", "do", "does", "can", "could", "how", "what", "why", "please", "pls", "hi"),
        *("hello", "hey", "this", "that", "was", "be"),
    }
)


def content_words(text: str) -> frozenset[str]:
    return frozenset(word for word in tokens(normalize(text)) if word not in _STOPWORDS)


def _token_overlap(a: str, b: str) -> float:
    words_a, words_b = content_words(a), content_words(b)
    if not words_a or not words_b:
        return 1.0 if normalize(a) == normalize(b) else 0.0
    return len(words_a & words_b) / len(words_a | words_b)


CONTEXT_FIELDS = (
    "business_hours",
    "channel",
    "status",
    "visitor_messages",
    "messages",
    "waiting_seconds",
    "conversation_age_seconds",
    "tags",
)


@dataclass(slots=True)
class Context(Condition):
    field: str = "business_hours"
    op: str = "="
    value: Any = None
    team: str = ""
    _expected: Any = dataclasses.field(default=None, init=False, repr=False)
    kind = "context"

    def __post_init__(self) -> None:
        self._expected = _compiled_value(self.op, self.value)

    @property
    def uses_business_hours(self) -> bool:  # type: ignore[override]
        return self.field == "business_hours"

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        conversation = ev.conversation
        if self.field == "business_hours":
            is_open = conversation.teams_open.get(self.team) if self.team else conversation.business_hours_open
            if is_open is None:  # no hours configured: neither "open" nor "closed" applies
                return False, {}
            actual: Any = "open" if is_open else "closed"
        else:
            actual = {
                "channel": conversation.channel,
                "status": conversation.status,
                "visitor_messages": conversation.visitor_message_count,
                "messages": conversation.message_count,
                "waiting_seconds": conversation.waiting_seconds,
                "conversation_age_seconds": conversation.age_seconds,
                "tags": list(conversation.tags),
            }[self.field]
        if compare(actual, self.op, self._expected):
            details = {"kind": self.kind, "field": self.field, "value": actual}
            if self.team:
                details["team"] = self.team
            return True, details
        return False, {}

    def _describe(self) -> str:
        team = f" ({self.team})" if self.team else ""
        return f"{self.field.replace('_', ' ')}{team} {self.op} {self.value!r}"


# --- Parsing -----------------------------------------------------------------------------------------


def parse_conditions(items: Any, *, where: str = "conditions", depth: int = 0) -> tuple[Condition, ...]:
    if not isinstance(items, list):
        raise RuleError(f'{where} must be a JSON list of condition objects, e.g. [{{"kind": "explicit_request"}}]')
    return tuple(parse_condition(item, where=f"{where}[{i}]", depth=depth) for i, item in enumerate(items))


def parse_condition(item: Any, *, where: str = "condition", depth: int = 0) -> Condition:
    if not isinstance(item, dict):
        raise RuleError(f'{where} must be an object with a "kind", got {item!r}')
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in _PARSERS:
        raise RuleError(f'{where}: "kind" must be one of {", ".join(map(repr, KINDS))}, got {kind!r}')
    where = f"{where} ({kind})"
    negate = item.get("negate", False)
    if not isinstance(negate, bool):
        raise RuleError(f"{where}: 'negate' must be true or false")
    label = item.get("label", "")
    if not isinstance(label, str):
        raise RuleError(f"{where}: 'label' must be text")
    condition = _PARSERS[kind](item, where, depth)
    condition.negate = negate
    condition.label = label
    return condition


def _bool(options: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise RuleError(f"{where}: '{key}' must be true or false, got {value!r}")
    return value


def _parse_group(o, where, depth) -> Condition:
    _check_keys(o, {"match", "conditions"}, where)
    if depth >= MAX_DEPTH:
        raise RuleError(f"{where}: groups nest at most {MAX_DEPTH} deep")
    match = _choice(o.get("match", "all"), "match", where, ("all", "any"))
    conditions = parse_conditions(_require(o, "conditions", where), where=f"{where}.conditions", depth=depth + 1)
    if not conditions:
        raise RuleError(f"{where}: 'conditions' needs at least one condition")
    return Group(match=match, conditions=conditions)


def _parse_explicit(o, where, depth) -> Condition:
    _check_keys(o, {"button", "phrases", "semantic", "min_similarity", "margin"}, where)
    return ExplicitRequest(
        button=_bool(o, "button", True, where),
        phrases=_bool(o, "phrases", True, where),
        semantic=_bool(o, "semantic", True, where),
        min_similarity=_number(
            o.get("min_similarity", DEFAULT_PERSON_SIMILARITY), "min_similarity", where, low=0, high=1
        ),
        margin=_number(o.get("margin", DEFAULT_PERSON_MARGIN), "margin", where, low=-1, high=1),
    )


def _parse_keywords(o, where, depth) -> Condition:
    _check_keys(o, {"terms", "patterns", "whole_words", "fuzzy"}, where)
    terms = _strings(o.get("terms", []), "terms", where, limit=MAX_TERMS)
    patterns = _strings(o.get("patterns", []), "patterns", where, limit=50)
    if not terms and not patterns:
        raise RuleError(f"{where}: give 'terms' (words or phrases) or 'patterns' (regular expressions)")
    for pattern in patterns:
        try:
            compile_user_pattern(pattern, whole_words=False)
        except regex.error as error:
            raise RuleError(f"{where}: pattern {pattern!r} is not a valid regular expression ({error})") from None
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise RuleError(f"{where}: pattern {pattern!r} is longer than {MAX_PATTERN_LENGTH} characters")
    return Keywords(
        terms=terms,
        patterns=patterns,
        whole_words=_bool(o, "whole_words", True, where),
        fuzzy=_bool(o, "fuzzy", False, where),
    )


def _parse_sentiment(o, where, depth) -> Condition:
    _check_keys(o, {"scope", "below", "last", "drop"}, where)
    scope = _choice(o.get("scope", "message"), "scope", where, ("message", "average", "drop", "conversation"))
    last = _integer(o.get("last", 3), "last", where, low=1, high=20)
    if scope == "drop":
        drop = _number(_require(o, "drop", where), "drop", where, low=0, high=2)
        below = _number(o["below"], "below", where, low=-1, high=1) if "below" in o else None
        return Sentiment(scope=scope, drop=drop, below=below, last=last)
    below = _number(_require(o, "below", where), "below", where, low=-1, high=1)
    return Sentiment(scope=scope, below=below, last=last)


def _parse_frustration(o, where, depth) -> Condition:
    _check_keys(o, {"signals", "min_signals"}, where)
    signals = _strings(o.get("signals", list(detectors.FRUSTRATION_SIGNALS)), "signals", where, limit=10)
    for signal in signals:
        _choice(signal, "signals", where, detectors.FRUSTRATION_SIGNALS)
    min_signals = _integer(o.get("min_signals", 1), "min_signals", where, low=1, high=len(signals))
    return Frustration(signals=signals, min_signals=min_signals)


def _parse_intent(o, where, depth) -> Condition:
    _check_keys(o, {"category", "examples", "min_similarity", "margin", "keywords", "knowledge_base"}, where)
    category = o.get("category", "")
    if not isinstance(category, str):
        raise RuleError(f"{where}: 'category' must be text")
    examples = _strings(o.get("examples", []), "examples", where, limit=MAX_EXAMPLES)
    if not category and not examples:
        raise RuleError(
            f"{where}: give a 'category' ({', '.join(repr(c) for c in phrases.CATEGORIES if c != 'human_request')}, "
            "or any knowledge-base tag) or 'examples' (phrases customers use for this topic)"
        )
    return Intent(
        category=category.strip().casefold(),
        examples=examples,
        min_similarity=_number(
            o.get("min_similarity", DEFAULT_INTENT_SIMILARITY), "min_similarity", where, low=0, high=1
        ),
        margin=_number(o.get("margin", DEFAULT_INTENT_MARGIN), "margin", where, low=-1, high=1),
        use_keywords=_bool(o, "keywords", True, where),
        knowledge_base=_bool(o, "knowledge_base", True, where),
    )


def _parse_customer(o, where, depth) -> Condition:
    _check_keys(o, {"attribute", "op", "value"}, where)
    attribute = _require(o, "attribute", where)
    if not isinstance(attribute, str) or not attribute.strip():
        raise RuleError(f'{where}: \'attribute\' must name a customer attribute, e.g. "plan" or "lifetime_value"')
    op, value = _parse_comparison(o, where)
    return Customer(attribute=attribute.strip(), op=op, value=value)


def _parse_bot(o, where, depth) -> Condition:
    _check_keys(o, {"signal", "below", "count", "min_similarity", "within"}, where)
    signal = _choice(_require(o, "signal", where), "signal", where, BOT_SIGNALS)
    return BotStruggling(
        signal=signal,
        below=_number(o.get("below", 0.5), "below", where, low=0, high=1),
        count=_integer(o.get("count", 2 if signal == "consecutive_low_confidence" else 1), "count", where, high=20),
        min_similarity=_number(o.get("min_similarity", 0.8), "min_similarity", where, low=0, high=1),
        within=_integer(o.get("within", 3), "within", where, high=20),
    )


def _parse_context(o, where, depth) -> Condition:
    _check_keys(o, {"field", "op", "value", "team"}, where)
    field_name = _choice(_require(o, "field", where), "field", where, CONTEXT_FIELDS)
    team = o.get("team", "")
    if not isinstance(team, str):
        raise RuleError(f"{where}: 'team' must be a team slug")
    if team and field_name != "business_hours":
        raise RuleError(f"{where}: 'team' only applies to the business_hours field")
    op, value = _parse_comparison(o, where)
    if field_name == "business_hours" and (op not in ("=", "!=") or value not in ("open", "closed")):
        raise RuleError(f'{where}: business_hours takes op "=" or "!=" and value "open" or "closed"')
    return Context(field=field_name, op=op, value=value, team=team.strip())


_PARSERS: dict[str, Callable[[Mapping[str, Any], str, int], Condition]] = {
    "explicit_request": _parse_explicit,
    "keywords": _parse_keywords,
    "sentiment": _parse_sentiment,
    "frustration": _parse_frustration,
    "intent": _parse_intent,
    "customer": _parse_customer,
    "bot": _parse_bot,
    "context": _parse_context,
    "group": _parse_group,
}
KINDS = tuple(_PARSERS)


def validate_conditions(items: Any, *, check_patterns: bool = True) -> list[str]:
    """Every problem with a rule's conditions, as messages a manager can act on (empty when fine).

    With check_patterns, regular expressions are also trial-run for catastrophic backtracking;
    that costs up to a few hundred milliseconds per pattern, so it belongs to saving, not matching.
    """
    try:
        conditions = parse_conditions(items)
    except RuleError as error:
        return [str(error)]
    if not conditions:
        return ['add at least one condition, e.g. [{"kind": "explicit_request"}]']
    problems = []
    if check_patterns:
        started = time.monotonic()
        for condition in (c for top in conditions for c in top.walk()):
            if isinstance(condition, Keywords):
                for pattern in condition.patterns:
                    if (problem := check_pattern_safety(pattern)) is not None:
                        problems.append(f"pattern {pattern!r} {problem}")
            if time.monotonic() - started > 5:  # pragma: no cover - a safety net for huge rules
                problems.append("too many patterns to check at once; split the rule")
                break
    return problems
