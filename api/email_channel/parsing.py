"""Inbound email, hostile until parsed: a raw MIME message (IMAP, SendGrid's raw mode, Mailgun's body-mime) or
the parsed form fields of an inbound-parse webhook (SendGrid's default mode, Mailgun's forward()) become one
InboundEmail; `reply_text` keeps what the visitor wrote, without the quoted history or their signature.

Nothing here raises on odd input except EmailUnreadable, with a message saying what was wrong.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, Parser
from email.utils import getaddresses

import lxml.html
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from lxml import etree

from api.email_channel.addresses import message_ids

MAX_EMAIL_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 4000  # what the widget allows in one message
MAX_ATTACHMENTS_NAMED = 10
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class EmailUnreadable(Exception):
    """The email cannot be read at all (no sender, not MIME, too big); the message says why."""


@dataclass(frozen=True)
class InboundEmail:
    sender: str  # the From address, lower-cased
    sender_name: str
    recipients: tuple[str, ...]  # To, Cc, Delivered-To and the envelope's, lower-cased
    subject: str
    text: str  # the plain-text body (or the HTML's text), quoted history included
    html: str
    message_id: str  # without the <>; "" when the email had none
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    automatic: bool  # an auto-reply, a bounce, a mailing list: never answered, never stored
    attachments: tuple[str, ...]  # file names


def clean(text: str) -> str:
    """Text PostgreSQL can store and a page can show: no NUL or other control characters but newlines and
    tabs, no lone surrogates (8-bit headers decode to them), newlines normalised."""
    text = (text or "").encode("utf-8", "replace").decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_CHARACTERS.sub("", text)


def _addresses(*values: str) -> list[tuple[str, str]]:
    pairs = getaddresses([clean(value) for value in values if value])
    return [(name.strip(), address.strip().lower()) for name, address in pairs if "@" in address]


def _is_automatic(header) -> bool:
    """RFC 3834 auto-replies, bulk and list mail, bounces: answering them starts mail loops."""
    auto_submitted = (header("Auto-Submitted") or "no").strip().lower()
    precedence = (header("Precedence") or "").strip().lower()
    return (
        auto_submitted != "no"
        or precedence in {"bulk", "junk", "list", "auto_reply"}
        or bool(header("X-Autoreply") or header("X-Autorespond") or header("List-Id"))
    )


def _from_headers(header, *, text: str, html: str, attachments: list[str], extra_recipients=()) -> InboundEmail:
    senders = _addresses(header("From") or "")
    if not senders:
        raise EmailUnreadable("The email has no From address.")
    name, sender = senders[0]
    try:
        validate_email(sender)
    except ValidationError:
        raise EmailUnreadable("The email's From address is not a valid address.") from None
    recipients = [address for _, address in _addresses(*(header(h) or "" for h in ("To", "Cc", "Delivered-To")))]
    recipients += [address for _, address in _addresses(*extra_recipients)]
    own_id = message_ids(header("Message-ID") or "")
    return InboundEmail(
        sender=sender,
        sender_name=name[:200],
        recipients=tuple(dict.fromkeys(recipients)),
        subject=clean(header("Subject") or "")[:500],
        text=clean(text),
        html=clean(html),
        message_id=own_id[0] if own_id else "",
        in_reply_to=tuple(message_ids(header("In-Reply-To") or "")),
        references=tuple(message_ids(header("References") or ""))[-50:],
        automatic=_is_automatic(header) or sender.split("@")[0] in {"mailer-daemon", "postmaster"},
        attachments=tuple(clean(name)[:100] for name in attachments[:MAX_ATTACHMENTS_NAMED]),
    )


def _header_reader(message: Message):
    def header(name: str) -> str:
        try:
            return str(message.get(name, "") or "")
        except (ValueError, TypeError, IndexError, AttributeError):  # a header the parser cannot make sense of
            return ""

    return header


def _part_text(part: Message | None) -> str:
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError, KeyError):  # an unknown charset, a broken encoding
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def from_mime(raw: bytes) -> InboundEmail:
    """A whole RFC 5322 message, as an IMAP server or a raw-mode webhook hands it over."""
    if len(raw) > MAX_EMAIL_BYTES:
        raise EmailUnreadable(f"The email is larger than {MAX_EMAIL_BYTES // (1024 * 1024)} MB.")
    try:
        message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
        text = _part_text(message.get_body(preferencelist=("plain",)))
        html = "" if text else _part_text(message.get_body(preferencelist=("html",)))
        attachments = [part.get_filename() or "attachment" for part in message.iter_attachments()]
    except RecursionError:
        raise EmailUnreadable("The email nests its parts too deeply to be read.") from None
    return _from_headers(_header_reader(message), text=text, html=html, attachments=attachments)


def from_webhook_fields(fields: dict[str, str], files: list[str]) -> InboundEmail:
    """An inbound-parse webhook's form: the raw message if it was posted (SendGrid "POST the raw, full MIME
    message": `email`; Mailgun's URLs ending in mime: `body-mime`), else the parsed fields (SendGrid: `headers`,
    `text`, `html`, `envelope`; Mailgun: `message-headers`, `body-plain`, `body-html`, `recipient`)."""
    raw = fields.get("email") or fields.get("body-mime")
    if raw:
        return from_mime(raw.encode("utf-8", "surrogateescape"))
    headers = Parser(policy=policy.default).parsestr(clean(fields.get("headers", "")) + "\n\n", headersonly=True)
    try:
        for name, value in json.loads(fields.get("message-headers") or "[]"):
            if isinstance(name, str) and isinstance(value, str) and name not in headers:
                headers[name] = clean(value).replace("\n", " ")
    except (ValueError, TypeError):
        raise EmailUnreadable("message-headers is not a JSON list of [name, value] pairs.") from None
    header_of = _header_reader(headers)

    def header(name: str) -> str:  # the form's own field wins (Mailgun posts From, Subject, In-Reply-To, ...)
        return fields.get(name.lower()) or fields.get(name) or header_of(name)

    envelope_to: list[str] = []
    try:
        envelope = json.loads(fields.get("envelope") or "{}")
        envelope_to = [to for to in envelope.get("to", []) if isinstance(to, str)] if isinstance(envelope, dict) else []
    except ValueError:
        pass
    return _from_headers(
        header,
        text=fields.get("text") or fields.get("body-plain") or "",
        html=fields.get("html") or fields.get("body-html") or "",
        attachments=files,
        extra_recipients=[*envelope_to, fields.get("recipient", "")],
    )


# --- What the visitor wrote ---------------------------------------------------------------------------------

# "On Tue, 1 Dec 2026 at 14:02, Support <reply+...@...> wrote:" (Gmail wraps it over two lines), and the same
# in a few other languages mail programs write it in.
QUOTE_HEADER = re.compile(
    r"^(On|Le|Am|El|Il|Op|Den|W dniu)\s.{0,300}(wrote|a écrit|schrieb|escribió|ha scritto|schreef|skrev|napisał)"
    r"\s?:\s*$",
    re.IGNORECASE | re.DOTALL,
)
ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message|Ursprüngliche Nachricht)", re.I)
OUTLOOK_SEPARATOR = re.compile(r"^\s*_{10,}\s*$")
OUTLOOK_FROM = re.compile(r"^\s*\*?(From|De|Von|Van)\s*:\*?\s", re.I)
OUTLOOK_SENT = re.compile(r"^\s*\*?(Sent|Date|Envoyé|Gesendet|Datum)\s*:", re.I)
SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
MOBILE_SIGNATURE = re.compile(
    r"^\s*(Sent from my \w+|Sent from (Mail|Outlook) for \w+|Get Outlook for \w+|Envoyé de mon \w+|"
    r"Von meinem \w+ gesendet)",
    re.I,
)
HTML_QUOTES = "//blockquote | //*[contains(@class, 'gmail_quote')] | //*[@id='divRplyFwdMsg'] | //*[@id='appendonsend']"
BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol", "blockquote", "pre"}


def html_text(html: str) -> str:
    """The text of an HTML body, without the quoted reply mail programs put in a blockquote."""
    try:
        root = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    for quoted in root.xpath(HTML_QUOTES):
        quoted.drop_tree()
    for element in root.iter("script", "style", "head"):
        element.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in BLOCKS:
            element.tail = "\n" + (element.tail or "")
    return root.text_content()


def _quote_starts(lines: list[str]) -> int:
    """The index of the first line of quoted history (len(lines) if none)."""
    for index, line in enumerate(lines):
        two = line + " " + (lines[index + 1] if index + 1 < len(lines) else "")
        if QUOTE_HEADER.match(line.strip()) or (line.strip() and QUOTE_HEADER.match(two.strip())):
            return index
        if ORIGINAL_MESSAGE.match(line) or OUTLOOK_SEPARATOR.match(line):
            return index
        # Outlook's header block: From: ... then Sent:/Date: within the next lines.
        if OUTLOOK_FROM.match(line) and any(
            re.match(r"^\s*\*?(Sent|Date|Envoyé|Gesendet|Datum)\s*:", later, re.I)
            for later in lines[index + 1 : index + 4]
        ):
            return index
    return len(lines)


def reply_text(email: InboundEmail) -> str:
    """What the visitor wrote this time: the quoted history, '>' lines and the signature cut off; at most
    MAX_TEXT_CHARS, with a visible note when more was cut; the attachments named (they are not kept)."""
    body = email.text or html_text(email.html)
    lines = body.split("\n")
    lines = lines[: _quote_starts(lines)]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    for index, line in enumerate(lines):
        if SIGNATURE_DELIMITER.match(line) or MOBILE_SIGNATURE.match(line):
            lines = lines[:index]
            break
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()
    if len(text) > MAX_TEXT_CHARS:
        cut = len(text) - MAX_TEXT_CHARS
        text = text[:MAX_TEXT_CHARS].rstrip() + f"\n\n[The rest of this email ({cut:,} characters) was cut.]"
    if email.attachments:
        text += ("\n\n" if text else "") + f"[Attachments not kept: {', '.join(email.attachments)}]"
    return text
