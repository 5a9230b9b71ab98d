"""The widget protocol's client events, validated before anything touches the database.

Pure functions: `parse_client_event` turns one WebSocket text frame into a typed event or
raises ProtocolError with a code from ErrorCode. The wire format is in docs/widget-protocol.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal, TypedDict

from chat.realtime import MessageEvent
from widget.identity import IdentityClaim

MAX_MESSAGE_CHARS = 4000
# A 4,000-character message is at most ~48 kB of JSON (astral characters escaped as two
# \uXXXX); anything bigger is refused before it is parsed.
MAX_FRAME_BYTES = 64 * 1024
# `\Z`, not `$`: `$` also matches before a final newline, so "abc\n" passed as a client id.
CLIENT_ID_RE = re.compile(r"\A[A-Za-z0-9_.:-]{1,64}\Z")
MAX_SEQ = 2**31 - 1

ErrorCode = Literal[
    "malformed_json",
    "frame_too_large",
    "unknown_type",
    "invalid_field",
    "hello_required",
    "already_started",
    "invalid_token",
    "identity_refused",
    "empty_message",
    "message_too_long",
    "invalid_text",
    "invalid_client_id",
    "rate_limited",
    "handoff_failed",
    "end_failed",
    "invalid_email",
    "rating_failed",
    "feedback_failed",
    "internal_error",
]


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str, *, client_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id


# --- Client events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    token: str | None
    page_url: str = ""
    page_title: str = ""
    identity: IdentityClaim | None = None  # a signed-in visitor, vouched for by the host site (widget/identity.py)


@dataclass(frozen=True)
class SendMessage:
    client_id: str
    text: str


@dataclass(frozen=True)
class Resume:
    after_seq: int


@dataclass(frozen=True)
class Typing:
    is_typing: bool


@dataclass(frozen=True)
class HandoffRequest:
    pass


@dataclass(frozen=True)
class HandoffCancel:
    """ "I no longer need a person", while waiting."""


@dataclass(frozen=True)
class BotWhileWaiting:
    """ "Keep chatting with the assistant while you wait"."""


@dataclass(frozen=True)
class EndChat:
    """The visitor ends the conversation ("End chat"); they are asked to rate it."""


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Contact:
    """The visitor's email address, asked for when nobody can answer right now."""

    email: str


@dataclass(frozen=True)
class Rating:
    """The CSAT answer after resolution."""

    score: int
    comment: str


@dataclass(frozen=True)
class Feedback:
    """Thumbs up or down on one bot answer."""

    seq: int
    value: Literal["up", "down"]


ClientEvent = Hello | SendMessage | Resume | Typing | HandoffRequest | Ping | Contact | Rating | Feedback

MAX_EMAIL_CHARS = 254
MAX_COMMENT_CHARS = 2000


def parse_client_event(raw: str | None) -> ClientEvent:
    if raw is None:
        raise ProtocolError("malformed_json", "Send JSON text frames; binary frames are not supported.")
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProtocolError("malformed_json", "The frame is not valid JSON.") from exc
    except RecursionError:  # e.g. 30,000 nested brackets, well under the size cap
        raise ProtocolError("malformed_json", "The frame is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed_json", "An event must be a JSON object with a type.")
    kind = data.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError("unknown_type", f"Unknown event type {str(kind)[:40]!r}.")
    return parser(data)


def _hello(data: dict) -> Hello:
    token = data.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolError("invalid_field", "hello.token must be a string or null.")
    page = data.get("page") or {}
    if not isinstance(page, dict):
        raise ProtocolError("invalid_field", "hello.page must be an object with url and title.")
    url, title = page.get("url", ""), page.get("title", "")
    if not isinstance(url, str) or not isinstance(title, str) or _has_lone_surrogate(url + title):
        raise ProtocolError("invalid_field", "hello.page.url and hello.page.title must be strings.")
    return Hello(
        token=token or None,
        page_url=url.replace("\x00", "")[:500],
        page_title=title.replace("\x00", "")[:200],
        identity=_identity(data.get("identity")),
    )


def _identity(data) -> IdentityClaim | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_field", "hello.identity must be an object with user_id, email and user_hash.")
    user_id, email, user_hash = data.get("user_id"), data.get("email", ""), data.get("user_hash")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200 or not user_id.isprintable():
        raise ProtocolError("invalid_field", "hello.identity.user_id must be 1-200 printable characters.")
    if not isinstance(email, str) or len(email) > 254 or not email.isprintable():
        raise ProtocolError("invalid_field", "hello.identity.email must be an email address or empty.")
    if not isinstance(user_hash, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", user_hash):
        raise ProtocolError("invalid_field", "hello.identity.user_hash must be the 64 hex digits of an HMAC-SHA256.")
    return IdentityClaim(user_id=user_id.strip(), email=email.strip(), user_hash=user_hash)


def _message(data: dict) -> SendMessage:
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        raise ProtocolError("invalid_client_id", "message.client_id must be 1-64 characters of A-Z a-z 0-9 _ . : -.")
    text = data.get("text")
    if not isinstance(text, str):
        raise ProtocolError("invalid_field", "message.text must be a string.", client_id=client_id)
    if not text.strip():
        raise ProtocolError("empty_message", "The message is empty.", client_id=client_id)
    limit = MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise ProtocolError(
            "message_too_long",
            f"Messages are limited to {limit:,} characters; this one has {len(text):,}.",
            client_id=client_id,
        )
    if "\x00" in text or _has_lone_surrogate(text):
        # PostgreSQL cannot store NUL, and a lone UTF-16 surrogate cannot be encoded as UTF-8.
        raise ProtocolError(
            "invalid_text", "The message contains characters that cannot be stored.", client_id=client_id
        )
    return SendMessage(client_id=client_id, text=text)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _resume(data: dict) -> Resume:
    after_seq = data.get("after_seq", 0)
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or not 0 <= after_seq <= MAX_SEQ:
        raise ProtocolError("invalid_field", "resume.after_seq must be a non-negative integer.")
    return Resume(after_seq=after_seq)


def _typing(data: dict) -> Typing:
    is_typing = data.get("is_typing", True)
    if not isinstance(is_typing, bool):
        raise ProtocolError("invalid_field", "typing.is_typing must be true or false.")
    return Typing(is_typing=is_typing)


def _contact(data: dict) -> Contact:
    email = data.get("email")
    # validate_email lets a lone surrogate through, and then the database cannot store it.
    if (
        not isinstance(email, str)
        or not email.strip()
        or len(email) > MAX_EMAIL_CHARS
        or "\x00" in email
        or _has_lone_surrogate(email)
    ):
        raise ProtocolError("invalid_email", "Enter an email address like name@example.com.")
    return Contact(email=email.strip())


def _rating(data: dict) -> Rating:
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ProtocolError("invalid_field", "csat.score must be a whole number from 1 to 5.")
    comment = data.get("comment") or ""
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS or _has_lone_surrogate(comment):
        raise ProtocolError("invalid_field", f"csat.comment must be text of at most {MAX_COMMENT_CHARS} characters.")
    return Rating(score=score, comment=comment.replace("\x00", ""))


def _feedback(data: dict) -> Feedback:
    seq, value = data.get("seq"), data.get("value")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ or value not in ("up", "down"):
        raise ProtocolError("invalid_field", "feedback needs the seq of a bot answer and value up or down.")
    return Feedback(seq=seq, value=value)


_PARSERS = {
    "hello": _hello,
    "message": _message,
    "resume": _resume,
    "typing": _typing,
    "handoff_request": lambda data: HandoffRequest(),
    "handoff_cancel": lambda data: HandoffCancel(),
    "bot_while_waiting": lambda data: BotWhileWaiting(),
    "end_chat": lambda data: EndChat(),
    "ping": lambda data: Ping(),
    "contact": _contact,
    "csat": _rating,
    "feedback": _feedback,
}


# --- Server events sent to one socket (broadcast events are in chat/realtime.py) -------------------


class Limits(TypedDict):
    max_message_chars: int
    rate_limit_messages: int
    rate_limit_seconds: int


class WelcomeEvent(TypedDict):
    type: Literal["welcome"]
    token: str | None
    conversation: str | None
    status: str | None
    status_detail: dict  # as in a status event's detail
    last_seq: int
    email_replies: bool  # agents' replies are emailed to a visitor who left (EMAIL_REPLIES_SENT)
    limits: Limits


class AckEvent(TypedDict):
    type: Literal["ack"]
    client_id: str
    seq: int
    created_at: str
    duplicate: bool


class HistoryEvent(TypedDict):
    type: Literal["history"]
    after_seq: int
    messages: list[MessageEvent]
    last_seq: int
    more: bool


class ErrorEvent(TypedDict):
    type: Literal["error"]
    code: ErrorCode
    message: str
    client_id: str
    retry_after: float | None


def error_event(error: ProtocolError, *, retry_after: float | None = None) -> ErrorEvent:
    return {
        "type": "error",
        "code": error.code,
        "message": error.message,
        "client_id": error.client_id,
        "retry_after": retry_after,
    }
