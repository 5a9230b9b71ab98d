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

import ipaddress
import re
from collections.abc import Iterable

EMAIL = "[email]"
PHONE = "[phone number]"
CARD = "[card number]"
ORDER = "[order number]"
NAME = "[name]"
ADDRESS = "[address]"
POSTCODE = "[postcode]"
PASSWORD = "[password]"  # noqa: S105 - a placeholder, not a password
LOGIN = "[login]"
LINK = "[private link]"
BIRTH_DATE = "[date of birth]"
NI_NUMBER = "[national insurance number]"
BANK = "[bank account]"
SORT_CODE = "[sort code]"
IP = "[IP address]"

# --- Detectors, one per class of personal data; scrub_personal_data replaces what they find and
# personal_data_hits reports what is left (a reviewer's edit, a chat model's rewrite).

# A URL that carries a secret: a query string or fragment with a token-like key, or any path
# segment of 16+ letters and digits mixed (reset links, magic links, signed downloads).
_SECRET_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']+?(?:[?&#][^\s<>\"']*(?:token|key|code|sig|signature|auth|session|reset|"
    r"password|pass|secret|otp|access|id)=[^\s<>\"']+|/(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{16,})[^\s<>\"']*",
    re.IGNORECASE,
)
# "password: hunter2", "your temporary password is Xk9!f", "pin 4821", "passcode - 123456".
_PASSWORD = re.compile(
    r"(?i:\b(?:(?:temporary |new |one[- ]time |current |old )?(?:password|passcode|passphrase|pass word|pin(?: code)?|"
    r"security code|verification code|one[- ]time code|otp)))(?:\s+(?:is|was|will be|set to|reset to|now|to))*"
    r"\s*[:=\-]?\s*(?:(?i:now)\s+)?[\"'\u201c\u2018]?(?P<value>(?![\[(])\S*\d\S*|(?![\[(])(?=\S*[^\w\s])\S{4,}|(?![\[(])[A-Z]\S{5,})[\"'\u201d\u2019]?"
)
# "username: ada_l", "your login is ada.lovelace", "user ID 99812".
_LOGIN = re.compile(
    r"(?i:\b(?:user ?name|login(?: name| id)?|user id|account id|customer id|member id)"
    r"(?:\s+(?:is|was|will be)\s*[:=-]?|\s*[:=]))"
    r"\s*[\"'\u201c\u2018]?(?P<value>(?![\[(])[\w.@+-]{3,})[\"'\u201d\u2019]?"
)
# UK National Insurance numbers (AB 12 34 56 C), sort codes (12-34-56) and IBANs.
_NI_NUMBER = re.compile(
    r"(?<![\w-])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w-])",
    re.IGNORECASE,
)
_IBAN = re.compile(r"(?<![\w-])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w-])")
_SORT_CODE = re.compile(r"(?<![\w.-])\d{2}([- ])\d{2}\1\d{2}(?![\w-]|\.\d)|(?i:sort code)\s*[:=]?\s*\d{6}\b")
_ACCOUNT_NUMBER = re.compile(r"(?i:account (?:number|no\.?))\s*[:=]?\s*\d{6,10}\b")
# IPv4 and IPv6 addresses.
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])")
# Candidates only; _is_ipv6 keeps real addresses, not times like 10:30:00.
_IPV6 = re.compile(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.IGNORECASE)
# Dates of birth: any date near "born", "birth" or "DOB"; and full dates in a year a customer was born in.
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_BIRTH_DATE = re.compile(
    rf"\b(?:born(?: on)?|birth ?day|date of birth|d\.?o\.?b\.?)\s*(?:is|was)?\s*[:=\-]?\s*{_DATE}"
    rf"|{_DATE}(?=[^.\n]{{0,20}}\b(?:birth|born)\b)",
    re.IGNORECASE,
)
# Street addresses: a house number and up to four words ending in a street type ("221B Baker Street",
# "Flat 3, 12 Elm Grove"), and UK postcodes (SW1A 1AA) and US ZIP codes after a state (CA 94105).
_STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|cl|way|court|ct|place|pl|terrace|crescent|cres|boulevard|"
    r"blvd|gardens|grove|square|sq|row|mews|parade|walk|highway|hwy|parkway|pkwy"
)
_ADDRESS = re.compile(
    rf"(?:(?i:flat|apartment|apt|unit|suite)\.?\s*\d+[A-Za-z]?,?\s+)?\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'-]*\s+){{1,4}}"
    rf"(?i:{_STREET_TYPES})\b\.?|(?i:flat|apartment|apt|unit|suite)\.?\s*\d+[A-Za-z]?\b"
)
_POSTCODE = re.compile(
    r"(?<![\w-])(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|"
    r"O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])\s+\d{5}(?:-\d{4})?)(?![\w-])"
)

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


# In this order: links before emails and numbers inside them, credentials before the digits in them,
# bank details before card and phone numbers, dates before numbers, addresses before order codes.
_SCRUBBERS: list[tuple[re.Pattern, str]] = [
    (_SECRET_URL, LINK),
    (_EMAIL, EMAIL),
    (_PASSWORD, PASSWORD),
    (_LOGIN, LOGIN),
    (_IBAN, BANK),
    (_ACCOUNT_NUMBER, BANK),
    (_NI_NUMBER, NI_NUMBER),
    (_SORT_CODE, SORT_CODE),
    (_IPV4, IP),
    (_IPV6, IP),
    (_BIRTH_DATE, BIRTH_DATE),
    (_ADDRESS, ADDRESS),
    (_POSTCODE, POSTCODE),
]


def scrub_personal_data(text: str, *, names: Iterable[str] = ()) -> str:
    """`text` with every class of personal data this module knows (and the given `names`) replaced by placeholders."""
    text = _TEMPLATE_SLOT.sub(lambda m: f"[{m.group(1).strip().lower()}]", text)
    for pattern, placeholder in _SCRUBBERS:
        text = pattern.sub(lambda m, placeholder=placeholder: _replace(m, placeholder), text)
    text = _CARD.sub(_card_or_order, text)
    text = _PHONE.sub(_phone_or_order, text)
    text = _ORDER_CODE.sub(ORDER, text)
    text = _HASH_NUMBER.sub(ORDER, text)
    text = _DIGIT_RUN.sub(ORDER, text)
    return _replace_names(text, names, NAME)


def personal_data_hits(text: str) -> list[str]:
    """What personal data `text` still holds, as "kind: excerpt" for a reviewer (empty when none is found).

    The same detectors as scrub_personal_data, plus the numbers it deliberately keeps only in context
    (long digit runs, order codes, phone-shaped numbers): a proposal or an edit is checked with this
    before it can become an article another visitor reads.
    """
    hits = []
    checks = [*_SCRUBBERS, (_CARD, CARD), (_PHONE, PHONE), (_ORDER_CODE, ORDER), (_DIGIT_RUN, ORDER)]
    for pattern, placeholder in checks:
        for match in pattern.finditer(text):
            if pattern is _IPV6 and not _is_ipv6(match.group(0)):
                continue
            found = match.group("value") if "value" in pattern.groupindex and match.group("value") else match.group(0)
            if placeholder == PHONE and len(re.sub(r"\D", "", found)) < 9:
                continue
            if placeholder == CARD and not _luhn_valid(re.sub(r"\D", "", found)):
                continue
            hits.append(f"{placeholder.strip('[]')}: {found[:60]}")
    return list(dict.fromkeys(hits))


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


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return "::" in candidate or candidate.count(":") == 7 or any(c in "abcdefABCDEF" for c in candidate)


def _replace(match: re.Match, placeholder: str) -> str:
    """The whole match, or for "password: X" only the value, so the sentence keeps its sense."""
    if match.re is _IPV6 and not _is_ipv6(match.group(0)):
        return match.group(0)
    if "value" in match.re.groupindex and match.group("value"):
        start, end = match.span("value")
        whole_start = match.start()
        text = match.group(0)
        return text[: start - whole_start] + placeholder + text[end - whole_start :]
    return placeholder


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
