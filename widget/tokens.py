"""The widget's visitor token: who the visitor is and which conversation they are in.

The widget keeps the token in the host page's localStorage and sends it in its first
WebSocket message, so a reload continues the same conversation without cookies (the widget
runs on other sites, where third-party cookies are blocked). It is signed, not encrypted:
it holds only public ids, and the signature (salted, so no other signed value of this
site can be replayed as a token) is what makes it unforgeable. The server re-issues a
fresh token on every connection, so an active visitor's token never reaches max age.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

# Named after the module's first home; changing it would invalidate every visitor's token.
SALT = "handoff.chat.visitor-token"


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired, or names something it may not."""


@dataclass(frozen=True)
class VisitorToken:
    customer_id: uuid.UUID
    conversation_id: uuid.UUID | None
    version: int = 0  # the customer's token_version when it was issued


def token_issue(*, customer_public_id: uuid.UUID, conversation_public_id: uuid.UUID | None, version: int = 0) -> str:
    payload = {"cu": str(customer_public_id)}
    if conversation_public_id is not None:
        payload["co"] = str(conversation_public_id)
    if version:  # absent means 0: tokens issued before versions existed stay valid until revoked
        payload["v"] = version
    return signing.dumps(payload, salt=SALT, compress=False)


def token_read(*, token: str) -> VisitorToken:
    """Check the signature and age; raises InvalidToken. Ownership is checked against the DB by the caller."""
    if not isinstance(token, str) or not token or len(token) > 500:
        raise InvalidToken("The token is not a string of a sensible length.")
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.WIDGET_TOKEN_MAX_AGE)
        customer_id = uuid.UUID(payload["cu"])
        conversation_id = uuid.UUID(payload["co"]) if payload.get("co") else None
        version = payload.get("v", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError("version")
    except signing.SignatureExpired as exc:
        raise InvalidToken("The token has expired.") from exc
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidToken("The token is not valid.") from exc
    return VisitorToken(customer_id=customer_id, conversation_id=conversation_id, version=version)
