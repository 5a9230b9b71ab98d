"""Text helpers shared by the engine and the rule validator. Pure: no Django, no I/O.

Everything the engine compares is first folded the same way (accents stripped, case folded,
typographic quotes straightened), so "Réclamation", "RECLAMATION" and "reclamation" are one word
to keywords, phrases and regular expressions alike.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The longest text the engine looks at: longer pastes are cut so a pathological message cannot
# make every rule slow. Support messages are far shorter than this.
MAX_TEXT_CHARS = 4000

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def strip_accents(text: str) -> str:
    """'Réclamation' -> 'Reclamation'. Keeps case, so it is safe on regular expression source."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalize(text: str) -> str:
    """Fold a message for matching: accents stripped, case folded, quotes straightened, spaces collapsed."""
    text = text[:MAX_TEXT_CHARS].translate(_QUOTES)
    return _SPACES.sub(" ", strip_accents(text).casefold()).strip()


def tokens(normalized: str) -> list[str]:
    """Words of an already normalised text ("don't" stays one token)."""
    return _TOKEN.findall(normalized)


_STOPWORDS = frozenset(
    {
        *("a", "an", "the", "i", "me", "my", "you", "your", "it", "is", "are", "to", "of", "and", "or", "for"),
        *("in", "on", "at", "with", "do", "does", "can", "could", "how", "what", "why", "please", "pls", "hi"),
        *("hello", "hey", "this", "that", "was", "be"),
    }
)


# Cached: the "bot struggling" conditions read the same texts (the bot's answers, the visitor's
# earlier messages) again on every message of a conversation, and folding them is most of the cost.
@lru_cache(maxsize=4096)
def content_words(text: str) -> frozenset[str]:
    """The words of a text that carry its meaning (without "the", "please", "how", ...)."""
    return frozenset(word for word in tokens(normalize(text)) if word not in _STOPWORDS)


def word_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """The share of words two texts have in common (Jaccard), 0 when either has none."""
    return len(a & b) / len(a | b) if a and b else 0.0


@lru_cache(maxsize=65536)
def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count 1), or limit + 1 once it is over limit.

    Typed requests are short words, so the plain dynamic programme is fast enough; the early exit
    keeps the common "not even close" case cheap.
    """
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return min(previous[-1], limit + 1)
