"""Turning a chat message into text fit for the knowledge base: no personal data, no pleasantries.

Pure functions over strings (no Django, no I/O), used by knowledge.learning on agents' answers
and visitors' questions before they are shown to a reviewer or become an article.

Personal data is replaced by a bracketed placeholder ("[email]", "[order number]"), so a reviewer
can see that something was there and decide how the article should phrase it. Greetings, thanks
for waiting, introductions and sign-offs are removed: they belong to one chat, not to an answer.
The patterns prefer removing too much over leaking: the reviewer sees the transcript beside the
proposal and can put a lost phrase back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = "[email]"
PHONE = "[phone number]"
CARD = "[card number]"
ORDER = "[order number]"
NAME = "[name]"

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# 13-19 digits in groups of 4-ish, as cards are written; told apart from order numbers by Luhn.
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
# Phone numbers: an international prefix, a leading 0 or a bracketed area code, then at least
# 8 more digits in groups. Prices (£4.95), times (9am-5pm) and ranges (2-4 days) have too few digits.
_PHONE = re.compile(
    r"(?<![\w#-])(?:\+\d{1,3}[\s.-]?(?:\(0\)\s?)?(?:\(\d{2,5}\)[\s.-]?)?|\(\d{2,5}\)\s?|0)"
    r"\d{2,5}(?:[\s.-]?\d{2,4}){1,4}(?![\w-])"
)
# Order and reference numbers: letters then digits (NW-12345, ORD123456), "#12345", or 6+ digits.
_ORDER_CODE = re.compile(r"(?<![\w-])[A-Z]{1,5}-?\d{4,}(?:-\d+)*(?![\w-])")
_HASH_NUMBER = re.compile(r"#\s?\d{3,}\b")
_DIGIT_RUN = re.compile(r"(?<![\w.,-])\d{6,}(?![\w-])")
# Bitext-style template slots ("{{Order Number}}") are placeholders already; keep them readable.
_TEMPLATE_SLOT = re.compile(r"\{\{\s*([^{}]{1,40}?)\s*\}\}")

_GREETING_WORDS = r"(?:hi|hello|hey|hiya|dear|good (?:morning|afternoon|evening)|greetings|howdy)"
# "Hi Ada," / "Hello there!" / "Good morning Ada -" at the start of a message, up to its punctuation.
_LEADING_GREETING = re.compile(
    rf"^\s*{_GREETING_WORDS}\b(?:[ \t]+(?:there|all|again|team|[A-Z][\w'-]*)){{0,2}}\s*[,!.:;-]*\s*",
    re.IGNORECASE,
)
# A sign-off on its own line at the end: "Best,\nDana", "Kind regards, Dana Smith", "Cheers!".
_SIGN_OFF_WORDS = (
    r"best(?: wishes| regards)?|kind regards|warm regards|regards|cheers|thanks|thank you|many thanks|"
    r"all the best|take care|speak soon|sincerely|yours"
)
_SIGN_OFF = re.compile(
    rf"(?:^|\n)[ \t]*(?i:{_SIGN_OFF_WORDS})[ \t]*[,!.-]*\s*(?:[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*)?[ \t]*\.?)?\s*$"
)
# Whole sentences that are about this chat rather than about the question.
_PLEASANTRIES = [
    r"thanks?(?: you)?(?: so much| very much)? for (?:waiting|your patience|holding|contacting|reaching out|"
    r"getting in touch|your message|your question|asking|bearing with)",
    r"thank you(?: so much| very much)?\W*$",
    r"thanks(?: a lot)?\W*$",
    r"(?:sorry|apologies|i apologi[sz]e) (?:for|about) (?:the |your |keeping you )?(?:wait|delay|waiting|hold)",
    r"my name is \w+",
    r"(?:i'm|i am|i'd be|i would be) (?:happy|glad|here) to help",
    r"(?:happy|glad) to help",
    r"i hope (?:this|that) helps",
    r"hope (?:this|that) helps",
    r"(?:let me know|feel free to (?:ask|reach out|contact)|don't hesitate)",
    r"is there anything else",
    r"(?:can|may) i help (?:you )?with anything else",
    r"anything else i can",
    r"have a (?:great|good|nice|lovely|wonderful) (?:day|evening|weekend|one)",
    r"enjoy your (?:day|evening|weekend)",
    r"(?:great|good|nice) question",
    r"let me (?:check|look|have a look|see)(?: that| this| into (?:it|that|this))?(?: for you)?\W*$",
    r"one moment(?: please)?\W*$",
    r"(?:i )?(?:totally |completely )?understand (?:your|how) (?:frustration|concern)",
    # A sign-off inside the last line: "... are free. Best, Dana". At most two words after it.
    rf"(?:{_SIGN_OFF_WORDS})\b[\s,!.-]*(?:[\w'-]+\s*){{0,2}}\W*$",
]
_PLEASANTRY = re.compile(r"^\W*(?:" + "|".join(_PLEASANTRIES) + r")", re.IGNORECASE)
# Introductions need the capital letter to tell "I'm Dana." from "I'm sorry.": case-sensitive.
_INTRODUCTION = re.compile(
    r"^\W*(?:(?:[Ii]'m|I am|[Tt]his is|[Ii]t's)\s+[A-Z][\w'-]*(?:\s+from\s+[\w ]+|\s+here)?|[A-Z][\w'-]*\s+here)\W*$"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|\n+")


def scrub_personal_data(text: str, *, names: Iterable[str] = ()) -> str:
    """`text` with emails, card, phone and order numbers, and the given `names` replaced by placeholders."""
    text = _TEMPLATE_SLOT.sub(lambda m: f"[{m.group(1).strip().lower()}]", text)
    text = _EMAIL.sub(EMAIL, text)
    text = _CARD.sub(_card_or_order, text)
    text = _PHONE.sub(_phone_or_order, text)
    text = _ORDER_CODE.sub(ORDER, text)
    text = _HASH_NUMBER.sub(ORDER, text)
    text = _DIGIT_RUN.sub(ORDER, text)
    return _replace_names(text, names, NAME)


def strip_pleasantries(text: str, *, names: Iterable[str] = ()) -> str:
    """`text` without greetings, introductions, thanks for waiting and sign-offs; the substance stays."""
    names = _clean_names(names)
    text = text.replace("\r\n", "\n").strip()
    previous = None
    while previous != text:  # "Hi Ada! Thanks for waiting." has two layers
        previous = text
        text = _LEADING_GREETING.sub("", text, count=1).strip()
        text = _SIGN_OFF.sub("", text).strip()
        for name in names:
            # A bare name left alone at the start or end: "Ada, ..." or "... - Dana".
            text = re.sub(
                rf"^(?:(?:i'm|i am|this is|it's)\s+)?{re.escape(name)}(?:\s+here)?\s*[,!.:-]+\s*",
                "",
                text,
                flags=re.IGNORECASE,
            ).strip()
            text = re.sub(rf"\s*[-\u2013\u2014,]+\s*{re.escape(name)}\s*\.?$", "", text, flags=re.IGNORECASE).strip()
    kept = [s for s in _sentences(text) if not (_PLEASANTRY.match(s) or _INTRODUCTION.match(s))]
    return _tidy(" ".join(kept))


def scrub_answer(text: str, *, names: Iterable[str] = ()) -> str:
    """An agent's chat reply as a knowledge-base answer: pleasantries stripped, personal data replaced."""
    names = _clean_names(names)
    return _tidy(scrub_personal_data(strip_pleasantries(text, names=names), names=names))


def scrub_question(text: str, *, names: Iterable[str] = ()) -> str:
    """A visitor's question as an example question: leading greeting and personal data gone."""
    names = _clean_names(names)
    text = _LEADING_GREETING.sub("", text.strip(), count=1)
    return _tidy(scrub_personal_data(text, names=names))


def normalise(text: str) -> str:
    """Lower case, words only: two spellings of one question compare equal (for dedupe keys)."""
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def word_count(text: str) -> int:
    return len(re.findall(r"[^\W_]+", text))


# --- helpers --------------------------------------------------------------------------------------


def _card_or_order(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if _luhn_valid(digits):
        return CARD
    if " " in match.group(0) or "-" in match.group(0):
        return ORDER  # 13+ digits in groups, not a card: a reference number
    return match.group(0)  # one run of digits: a phone number if it starts with 0, else an order number


def _phone_or_order(match: re.Match) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 9:
        return raw  # a short code or price, not a phone number
    if raw.isdigit() and not (raw[0] == "0" and raw[1] != "0" and 10 <= len(raw) <= 11):
        return ORDER  # one run of digits is a reference unless it is shaped like a national number (07700900123)
    return PHONE


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _clean_names(names: Iterable[str]) -> list[str]:
    """Full names and their parts (first and last name alone), longest first so "Ada Lovelace" goes whole."""
    found: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if not name or "@" in name:
            continue
        found.add(name)
        found.update(part for part in re.split(r"\s+", name) if len(part) >= 2)
    # Two-letter words like "Al" are names too, but "Jo" in "Jo-Jo" should not eat "join": whole words only.
    return sorted(found, key=len, reverse=True)


# First names that are also everyday words ("we will refund your bill"): replaced only when
# capitalised as written, so the words themselves survive.
_WORD_NAMES = frozenset({
    "will", "may", "june", "april", "august", "mark", "bill", "grace", "hope", "joy", "rose", "faith", "art",
    "sue", "pat", "rich", "dawn", "summer", "autumn", "page", "chase", "max", "sky", "drew", "gene", "guy", "ray",
    "rob", "jack", "frank", "sandy", "penny", "ruby", "amber", "crystal", "holly", "ivy", "lily", "iris", "daisy",
    "heather", "jean", "carol", "victor", "long", "young", "king", "brown", "white", "green", "black", "gray",
    "grey", "hill", "wood", "rain", "star",
})  # fmt: skip


def _replace_names(text: str, names: Iterable[str], placeholder: str) -> str:
    for name in _clean_names(names):
        flags = 0 if name.lower() in _WORD_NAMES else re.IGNORECASE
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", placeholder, text, flags=flags)
    return text


def _sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"^[\s,.;:!-]+", "", text)
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text
