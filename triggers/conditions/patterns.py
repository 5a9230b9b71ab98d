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

# Saving a pattern runs it against adversarial strings with this budget each (the `regex` module's
# timeout counts CPU time of the matching thread, so a busy machine does not fail a fine pattern).
REGEX_VALIDATION_TIMEOUT_SECONDS = 0.05
MAX_PATTERN_LENGTH = 300
# Regular expressions in one rule, all its conditions together (literal terms are not counted: they
# are escaped into one alternation that cannot backtrack badly).
MAX_PATTERNS_PER_RULE = 100
# CPU time one message may spend in managers' regular expressions, all rules together; patterns
# after that count as "no match" (noted in the firing log), so no rule set can stall the pipeline.
MESSAGE_PATTERN_BUDGET_SECONDS = 0.05
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
    adversarial strings built from the characters the pattern can match, punctuation included,
    which catches the shapes the static check cannot see (like (a|aa)+$, (?:-|--)+$ or (.*a){12}).
    The trial runs the pattern both bare and wrapped for whole words, as matching may use either.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"is {len(pattern)} characters long; keep patterns under {MAX_PATTERN_LENGTH}"
    try:
        compiled = [compile_user_pattern(pattern, whole_words=whole) for whole in (False, True)]
    except regex.error as error:
        return f"is not a valid regular expression ({error})"
    if _has_nested_unbounded_repeat(pattern):
        return (
            "repeats a group that itself repeats without limit, like (a+)+ or (\\w+\\s?)*, which can take "
            "exponential time on some messages; drop the inner or the outer quantifier"
        )
    for sample in _adversarial_samples(pattern):
        try:
            for each in compiled:
                each.search(sample, timeout=REGEX_VALIDATION_TIMEOUT_SECONDS)
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


# Stand-ins for what a class or a dot can match: a letter, a digit, a space, punctuation.
_CATEGORY_SAMPLES = {
    constants.CATEGORY_WORD: "a1",
    constants.CATEGORY_DIGIT: "1",
    constants.CATEGORY_SPACE: " ",
    constants.CATEGORY_NOT_WORD: "-!",
    constants.CATEGORY_NOT_DIGIT: "a-",
    constants.CATEGORY_NOT_SPACE: "a-",
}
# What ends an adversarial run so the match fails late: a non-word character, a word character,
# and a line end (a dot stops there). "z" matters for whole-word wrapping: (.*a){12} is fast
# before "!" and exponential before a letter.
_ENDINGS = ("!", "z", "\n")


def _alphabet(pattern: str) -> list[str]:
    """The characters the pattern can match (literals, class members, stand-ins for classes), in order."""
    try:
        parsed = parser.parse(strip_accents(pattern).casefold())
    except Exception:  # syntax only the `regex` module knows: every character of the pattern
        return list(dict.fromkeys(char for char in strip_accents(pattern).casefold() if not char.isspace()))
    found: list[str] = []

    def walk(items) -> None:
        for op, argument in items:
            if op == constants.LITERAL:
                found.append(chr(argument))
            elif op == constants.IN:
                walk(argument)
            elif op == constants.RANGE:
                found.extend((chr(argument[0]), chr(argument[1])))
            elif op == constants.CATEGORY:
                found.extend(_CATEGORY_SAMPLES.get(argument, "a"))
            elif op == constants.ANY:
                found.extend("a-")
            elif op in _REPEATS:
                walk(argument[2])
            elif op == constants.SUBPATTERN:
                walk(argument[-1])
            elif op == constants.BRANCH:
                for branch in argument[1]:
                    walk(branch)
            elif op in (constants.ASSERT, constants.ASSERT_NOT):
                walk(argument[1])

    walk(parsed)
    return list(dict.fromkeys(found))


def _adversarial_samples(pattern: str) -> Iterator[str]:
    """Long runs of the pattern's own characters (alone, in pairs, as its literal text), each ending badly."""
    alphabet = _alphabet(pattern)[:12] or ["a"]
    runs = [char * 3000 for char in [*alphabet, "a", "1", " "]]
    runs += [(char + " ") * 1500 for char in alphabet]
    runs += [(first + second) * 1500 for first in alphabet[:4] for second in alphabet[:4] if first != second]
    literal = "".join(char for char in strip_accents(pattern).casefold() if char.isalnum() or char in " -_.,'")
    if literal:
        runs.append((literal * (3000 // len(literal) + 1))[:3000])
    for run in dict.fromkeys(runs):
        for ending in _ENDINGS:
            yield run + ending


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


# A run of word characters as `re` sees them: what whole-word matching aligns on (not text.tokens,
# which keeps "don't" whole where (?<!\w)don(?!\w) matches).
WORD_RUN = re.compile(r"\w+")


def term_leads(terms: Sequence[str]) -> tuple[frozenset[str], frozenset[str]] | None:
    """What terms_pattern(terms, whole_words=True) needs in a message before it can match, or None.

    A whole-word match starts where a word run starts, so each term needs its leading run of word
    characters among the message's runs: exactly ("refund" in "refund request", "e" in "e-mail"),
    or as the start of a run for a one-run prefix term ("refund*"). Returns (exact, prefixes), or
    None when a term starts with something else ("#123", "*"), which the index cannot see. Mirrors
    terms_pattern's folding, so the two cannot disagree.
    """
    exact, prefixes = set(), set()
    for term in {normalize(term) for term in terms}:
        body = term.rstrip("*").strip()
        lead = WORD_RUN.match(body)
        if lead is None:
            return None
        if term.endswith("*") and lead.end() == len(body):
            prefixes.add(lead.group(0))
        else:
            exact.add(lead.group(0))
    return frozenset(exact), frozenset(prefixes)


# Syntax the standard library's parser reads differently from the `regex` module, or not at all:
# a brace that is not a plain {m,n} repeat (regex's fuzzy matching, "refund{e<=1}") and any "(?"
# group other than (?:...), lookarounds and named groups (inline flags, atomic groups, V1 mode), and
# POSIX classes ("[[:alpha:]]", which the standard library reads as a set and a "]").
_NOT_PLAIN = re.compile(r"\{(?!\d*(?:,\d*)?\})|\(\?(?![:=!<P])|\[:")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def required_literal(pattern: str) -> str | None:
    """A piece of text every match of the pattern contains, lower-case, or None when none is known.

    The longest run of plain ASCII letters and digits among the pattern's top-level items (each of
    which every match goes through, in order): for refund\\s+#?\\d{4,} that is "refund". ASCII
    only because the pattern matches without case against folded text, and no folded character
    matches an ASCII letter or digit case-insensitively without being that character
    (tests/triggers/test_prefilter.py checks every code point). A message without the literal
    cannot match, so the pattern need not run.
    """
    source = strip_accents(pattern)
    if _NOT_PLAIN.search(source):
        return None
    try:
        items = list(parser.parse(source))
    except Exception:  # syntax only the `regex` module knows
        return None
    best, run = "", ""
    for op, argument in items:
        char = chr(argument).lower() if op == constants.LITERAL else ""
        if char in _ASCII_ALNUM and char:
            run += char
            best = max(best, run, key=len)
        else:
            run = ""
    return best or None


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
