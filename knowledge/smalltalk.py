"""Greetings, thanks and goodbyes: recognised before the knowledge base is asked, answered briefly. Pure.

A message is small talk only when nothing else is in it ("hi", "thanks a lot!", "ok bye"); "hi, where
is my order?" is a question and goes to the knowledge base as usual. Small talk is never a decline,
so it does not count as a failure, as an out-of-scope question or against the bot's confidence.
The replies are settings (HANDOFF_SMALL_TALK_REPLIES, knowledge/conf.py), editable per deployment.
"""

from __future__ import annotations

import re

GREETING, THANKS, GOODBYE = "greeting", "thanks", "goodbye"
# Longer messages are not "just" small talk, whatever words they use.
MAX_WORDS = 8

_PHRASES = {
    GREETING: (
        "good morning",
        "good afternoon",
        "good evening",
        "good day",
        "hi there",
        "hello there",
        "hey there",
        "how are you",
        "how are you doing",
        "how s it going",
        "nice to meet you",
    ),
    THANKS: ("thank you", "thank u", "many thanks", "much appreciated", "that helps", "that helped"),
    GOODBYE: (
        "see you",
        "see ya",
        "talk soon",
        "have a nice day",
        "have a good day",
        "have a great day",
        "have a good one",
        "that s all",
        "that s it",
        "nothing else",
        "good night",
        "take care",
    ),
}
_WORDS = {
    GREETING: {"hi", "hello", "hey", "hiya", "howdy", "greetings", "yo", "morning", "evening", "bonjour", "hallo"},
    THANKS: {"thanks", "thank", "thx", "ty", "cheers", "thankyou", "ta", "merci", "danke", "appreciated"},
    GOODBYE: {"bye", "goodbye", "byebye", "cya", "ciao", "later", "farewell"},
}
# Words that may surround small talk without making it a question.
_FILLER = {
    "ok", "okay", "k", "great", "perfect", "cool", "awesome", "nice", "lovely", "brilliant", "excellent", "good",
    "oh", "ah", "well", "so", "very", "much", "a", "lot", "lots", "you", "u", "team", "there", "all", "again", "for",
    "the", "your", "help", "guys", "folks", "bot", "everyone", "mate", "really", "that", "s", "it", "was", "is",
    "helpful", "and", "now", "then", "alright", "right", "super", "fine", "got", "yes", "yeah", "sure", "dear",
    "sir", "madam", "friend", "kind", "kindly", "bunch", "tons", "just",
}  # fmt: skip
_TOKEN = re.compile(r"[a-z]+")


def small_talk_kind(text: str) -> str | None:
    """GREETING, THANKS or GOODBYE when `text` is only that; None for anything else."""
    words = _TOKEN.findall(text.lower())  # "that's" -> that, s
    if not words or len(words) > MAX_WORDS:
        return None
    joined = f" {' '.join(words)} "
    found: set[str] = set()
    for kind, phrases in _PHRASES.items():
        for phrase in phrases:
            if f" {phrase} " in joined:
                found.add(kind)
                joined = joined.replace(f" {phrase} ", " ")
    rest = joined.split()
    for word in rest:
        kind = next((k for k, words_of_kind in _WORDS.items() if word in words_of_kind), None)
        if kind is not None:
            found.add(kind)
        elif word not in _FILLER:
            return None
    if not found:
        return None
    # "thanks, bye" ends the conversation; "hi, thanks" thanks.
    for kind in (GOODBYE, THANKS, GREETING):
        if kind in found:
            return kind
    return None
