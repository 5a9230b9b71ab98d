"""Lexical detectors over a normalised message: asking for a person, and signs of frustration. Pure.

They are deliberately lexical (with typo tolerance): they run on every visitor message, inline,
before any model, and a manager can read why they fired. The embedding side of "asks for a person"
lives in the engine, which compares the message with example phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from triggers import phrases
from triggers.text import edit_distance, tokens

_VOCABULARY = (
    phrases.CONTACT_VERBS
    | phrases.VERBS_NEEDING_ME
    | phrases.STRONG_PERSON_NOUNS
    | phrases.WEAK_PERSON_NOUNS
    | phrases.PERSON_ADJECTIVES
    | phrases.WANT_VERBS
    | phrases.BOT_WORDS
    | {"please", "talk", "speak", "someone", "somebody", "representative"}
)
_WINDOW_AFTER_VERB = 6
_WINDOW_BEFORE_VERB = 3
_SHORT_REQUEST_TOKENS = 6


class FuzzyVocabulary:
    """Maps a token to the vocabulary word it is a typo of ("tlak" -> "talk", "agnet" -> "agent").

    Short words need an exact match (too many real words are one letter from "chat"); four- and
    longer ones get one edit, or two from eight letters. Real words that happen to be close
    ("personal", "compliant") are never rewritten (phrases.NOT_TYPOS).
    """

    def __init__(self, words: frozenset[str] | set[str]) -> None:
        self.words = frozenset(words)
        self._targets = tuple(sorted(word for word in self.words if len(word) >= 4 and word.isalpha()))
        self._cache: dict[str, str] = {}

    def correct(self, token: str) -> str:
        found = self._cache.get(token)
        if found is None:
            found = self._correct(token)
            if len(self._cache) < 100_000:
                self._cache[token] = found
        return found

    def _correct(self, token: str) -> str:
        if token in self.words or len(token) < 4 or token in phrases.NOT_TYPOS or not token.isalpha():
            return token
        # A missed space after "to" ("totalk", "tospeak") is the commonest typo in typed requests.
        if token.startswith("to") and token[2:] in self.words:
            return token[2:]
        best, best_distance = token, 3
        for target in self._targets:
            limit = 1 if len(target) < 8 else 2
            # Typos rarely touch the first letter except by swapping the first two.
            if target[0] != token[0] and not (target[0] == token[1] and target[1] == token[0]):
                continue
            if abs(len(target) - len(token)) > limit:
                continue
            distance = edit_distance(token, target, limit)
            if distance > limit or distance >= best_distance:
                continue
            if len(target) == 4 and len(token) == 4 and sorted(token) != sorted(target):
                continue  # four letters: only swapped letters count ("tlak"), not another word ("walk")
            best, best_distance = target, distance
        return best


PERSON_VOCABULARY = FuzzyVocabulary(_VOCABULARY)


@lru_cache(maxsize=1024)
def fuzzy_vocabulary(words: frozenset[str]) -> FuzzyVocabulary:
    """One shared instance per word set, so rules with the same terms share their typo memo."""
    return FuzzyVocabulary(words)


def canonical(token: str) -> str:
    return PERSON_VOCABULARY.correct(token)


def correct_words(words: list[str], vocabulary: FuzzyVocabulary) -> str | None:
    """The words with typos of vocabulary words fixed, for a second keyword search; None if none were."""
    corrected = [vocabulary.correct(word) for word in words]
    return " ".join(corrected) if corrected != words else None


@dataclass(frozen=True, slots=True)
class Detection:
    matched: bool
    evidence: str = ""


NO_DETECTION = Detection(False)


def detect_person_request(normalized: str, words: list[str] | None = None) -> Detection:
    """Does the visitor ask for a person? Evidence is the words that decided it, for the firing log."""
    words = [canonical(word) for word in (tokens(normalized) if words is None else words)]
    if not words:
        return NO_DETECTION
    persons = [i for i, word in enumerate(words) if _is_person(words, i)]
    strong = [i for i in persons if words[i] in phrases.STRONG_PERSON_NOUNS or _has_person_adjective(words, i)]

    for i in persons:
        # "talk to a (real) person", "can I speak with someone", "help me contact an agent".
        for j in range(max(0, i - _WINDOW_AFTER_VERB), i):
            if words[j] in phrases.CONTACT_VERBS and not _crosses_clause(words, j, i):
                if words[j] in phrases.VERBS_NEEDING_ME and "me" not in words[j + 1 : i]:
                    continue
                return Detection(True, " ".join(words[j : i + 1]))
            if words[j] in phrases.VERBS_NEEDING_ME and j + 1 < len(words) and words[j + 1] == "me":
                return Detection(True, " ".join(words[j : i + 1]))
        # "can an agent call me", "have someone contact me".
        for j in range(i + 1, min(len(words), i + 1 + _WINDOW_BEFORE_VERB)):
            if words[j] in phrases.CONTACT_VERBS and "me" in words[j + 1 : j + 3]:
                return Detection(True, " ".join(words[i : j + 2]))

    for i in strong:
        # "I want a human", "give me a real person", "need an agent".
        for j in range(max(0, i - 4), i):
            if words[j] == "like" and (j == 0 or words[j - 1] not in {"would", "i'd", "we'd", "d"}):
                continue  # "like a real person" compares; "I'd like a person" asks
            if words[j] in phrases.WANT_VERBS and not _crosses_clause(words, j, i):
                return Detection(True, " ".join(words[j : i + 1]))
        # "agent please", "human!!", "real person now": a short message that is mostly the request.
        if len(words) <= _SHORT_REQUEST_TOKENS and all(_is_request_filler(words, k) for k in range(len(words))):
            return Detection(True, " ".join(words))

    # "I don't want a bot", "no more robots", "stupid bot".
    for i, word in enumerate(words):
        if word in phrases.BOT_WORDS:
            for j in range(max(0, i - 6), i):
                if words[j] in phrases.BOT_REJECTIONS:
                    return Detection(True, " ".join(words[j : i + 1]))
    return NO_DETECTION


def _is_person(words: list[str], i: int) -> bool:
    word = words[i]
    if word not in phrases.STRONG_PERSON_NOUNS and word not in phrases.WEAK_PERSON_NOUNS:
        return False
    if i > 0 and (words[i - 1], word) in phrases.NOT_A_PERSON:
        return False
    return not (i + 1 < len(words) and (word, words[i + 1]) in phrases.NOT_A_PERSON)


def _has_person_adjective(words: list[str], i: int) -> bool:
    return i > 0 and words[i - 1] in phrases.PERSON_ADJECTIVES


def _is_request_filler(words: list[str], k: int) -> bool:
    word = words[k]
    return (
        word in phrases.STRONG_PERSON_NOUNS
        or word in phrases.WEAK_PERSON_NOUNS
        or word in phrases.PERSON_ADJECTIVES
        or word in phrases.POLITE_WORDS
        or word in phrases.FILLER_WORDS
        or word in phrases.WANT_VERBS
        or word in {"can", "could", "may", "i", "have", "being", "beings"}
    )


_CLAUSE_BREAKS = frozenset({"but", "because", "since", "and", "then", "so", "said", "told", "says"})


def _crosses_clause(words: list[str], start: int, end: int) -> bool:
    """'I talked to support and the agent said ...' joins two clauses; a request does not."""
    return any(word in _CLAUSE_BREAKS for word in words[start + 1 : end])


# --- Frustration -------------------------------------------------------------------------------------

FRUSTRATION_SIGNALS = ("shouting", "repeated_punctuation", "profanity", "exasperation")


def _phrase_pattern(items: tuple[str, ...] | frozenset[str]) -> re.Pattern[str]:
    # Longest first so "this is ridiculous" is reported rather than "ridiculous".
    alternatives = sorted({re.escape(item).replace(r"\ ", r"\s+") for item in items}, key=len, reverse=True)
    return re.compile(r"(?<![\w*])(?:" + "|".join(alternatives) + r")(?![\w*])")


_EXASPERATION = _phrase_pattern(phrases.EXASPERATION_PHRASES)
_PROFANITY = _phrase_pattern(phrases.PROFANITY)
_REPEATED_PUNCTUATION = re.compile(r"[!?]\s*[!?]\s*[!?]|!!|\?!|!\?")
_CAPITAL_WORD = re.compile(r"\b[A-Z][A-Z']+\b")
_WORD = re.compile(r"\b[^\W\d_]{2,}\b")
# Words that are normally written in capitals and so are not shouting.
_ACRONYMS = frozenset({"FAQ", "USA", "UK", "EU", "PDF", "URL", "API", "SMS", "VAT", "PIN", "ID", "CEO", "ASAP", "OK"})


def detect_frustration(text: str, normalized: str) -> dict[str, str]:
    """The frustration signals in a message, each with the text that shows it."""
    found: dict[str, str] = {}
    capitals = [word for word in _CAPITAL_WORD.findall(text) if word not in _ACRONYMS]
    words = _WORD.findall(text)
    # Three shouted words that are most of the message: "WHERE IS MY ORDER", not "my PIN and VAT".
    if len(capitals) >= 3 and len(capitals) * 2 >= len(words):
        found["shouting"] = " ".join(capitals[:6])
    if match := _REPEATED_PUNCTUATION.search(text):
        found["repeated_punctuation"] = match.group(0)
    if match := _PROFANITY.search(normalized):
        found["profanity"] = match.group(0)
    if match := _EXASPERATION.search(normalized):
        found["exasperation"] = match.group(0)
    return found
