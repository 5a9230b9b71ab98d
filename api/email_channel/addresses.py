"""The reply address that names a conversation (reply+<token>@example.com) and Message-ID handling."""

from __future__ import annotations

import re
from email.utils import getaddresses, make_msgid

from django.conf import settings

MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
# The domain of the ids we make up for an email that came without a Message-ID (to recognise it if it
# is delivered again); never put in our own headers, since the visitor's mail program never saw them.
DERIVED_ID_DOMAIN = "no-message-id.invalid"


def reply_address(*, token: str) -> str:
    local, domain = settings.EMAIL_REPLY_ADDRESS.split("@", 1)
    return f"{local}+{token}@{domain}"


def reply_token(addresses: list[str]) -> str | None:
    """The thread token of the first address that is our reply address plus a token, if any."""
    local, domain = settings.EMAIL_REPLY_ADDRESS.lower().split("@", 1)
    pattern = re.compile(rf"{re.escape(local)}\+([0-9a-f]{{32}})@{re.escape(domain)}")
    for address in addresses:
        if match := pattern.fullmatch(address.strip().lower()):
            return match.group(1)
    return None


def our_addresses() -> set[str]:
    """Addresses mail from which is our own (a loop), never a visitor's."""
    _, sender = getaddresses([settings.DEFAULT_FROM_EMAIL])[0]
    return {sender.lower(), settings.EMAIL_REPLY_ADDRESS.lower()}


def new_message_id() -> str:
    """A Message-ID (without the <>) in the reply address's domain."""
    return make_msgid(domain=settings.EMAIL_REPLY_ADDRESS.split("@", 1)[1]).strip("<>")


def message_ids(header: str) -> list[str]:
    """The ids in a Message-ID, In-Reply-To or References header, in order, without the <>."""
    return MESSAGE_ID.findall(header or "")
