"""Managers' regular expressions and literal terms, compiled for normalised text and checked for safety.

Shared by the keywords kind (terms and patterns) and the intent kind (a category's keywords).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from re import _constants as constants
from re import _parser as parser
from typing import TYPE_CHECKING

import regex

from triggers import detectors
from triggers.text import normalize, strip_accents, tokens

if TYPE_CHECKING:
    from triggers.engine import Evaluation

# Saving a pattern runs it against adversarial strings with this budget each.
REGEX_VALIDATION_TIMEOUT_SECONDS = 0.05
MAX_PATTERN_LENGTH = 300
REGEX_FLAGS = regex.IGNORECASE | regex.FULLCASE | regex.UNICODE | regex.V0
_REPEATS = {constants.MAX_REPEAT, constants.MIN_REPEAT, constants.POSSESSIVE_REPEAT}


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
    The standard library's parser reads the pattern; syntax only the `regex` module knows is
    left to the trial run.
    """
    try:
        parsed = parser.parse(strip_accents(pattern))
    except Exception:  # syntax only the `regex` module knows: the trial run still applies
        return False

    def unwrap(items) -> list:
        items = list(items)
        while len(items) == 1 and items[0][0] == constants.SUBPATTERN:
            items = list(items[0][1][-1])
        return items

    def only_repeats(items) -> bool:
        body = unwrap(items)
        has_unbounded = any(op in _REPEATS and arg[1] == constants.MAXREPEAT for op, arg in body)
        return has_unbounded and all(op in _REPEATS for op, _ in body)

    def walk(items) -> bool:
        for op, argument in items:
            if op in _REPEATS:
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


def words_of(terms: Sequence[str]) -> set[str]:
    """The words of literal terms ("refund*" counts as "refund"): what typo correction aims at."""
    return {word for term in terms for word in tokens(normalize(term.rstrip("*")))}


def typo_search(pattern: re.Pattern[str] | None, ev: Evaluation, vocabulary: detectors.FuzzyVocabulary) -> str | None:
    """Search again with typos of the terms' words corrected ("copmlaint" -> "complaint")."""
    if pattern is None:
        return None
    corrected = ev.corrected(vocabulary)
    if corrected is not None and (match := pattern.search(corrected)):
        return match.group(0)
    return None
