"""Identity verification for logged-in customers (the Intercom convention).

The host site renders the widget with the signed-in user's id and a hash only its server can make:

    <script src=".../widget.js" data-user-id="42" data-user-email="ada@example.com"
            data-user-hash="{{ hmac_sha256(WIDGET_IDENTITY_SECRET, '42') as hex }}"></script>

A hello carrying an identity whose hash verifies continues that customer's conversations on any
device (the customer is found by `external_id`) and fills in their email. A missing, wrong or
unconfigured hash is refused with `identity_refused`: never silently merged into someone's history,
never quietly downgraded to an anonymous chat that the visitor would think is their account's.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.models import Conversation, Customer


class IdentityRefused(Exception):
    """The identity could not be verified; the message is safe to show the visitor."""


@dataclass(frozen=True)
class IdentityClaim:
    user_id: str
    email: str
    user_hash: str


def identity_hash(*, user_id: str, secret: str) -> str:
    """What the host site's server computes: HMAC-SHA256 of the user id, as lowercase hex."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_verify(*, claim: IdentityClaim) -> None:
    secret = settings.WIDGET_IDENTITY_SECRET
    if not secret:
        raise IdentityRefused("This site cannot verify signed-in visitors (WIDGET_IDENTITY_SECRET is not set).")
    expected = identity_hash(user_id=claim.user_id, secret=secret)
    if not hmac.compare_digest(expected, claim.user_hash.lower()):
        raise IdentityRefused("We could not confirm who you are. Sign in again, or chat without signing in.")


def identity_customer(*, claim: IdentityClaim) -> tuple[Customer, Conversation | None]:
    """The verified customer and their latest conversation (from any device), creating the customer once."""
    identity_verify(claim=claim)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(external_id=claim.user_id).order_by("id").first()
        if customer is None:
            customer = Customer(external_id=claim.user_id)
        if claim.email:
            customer.email = claim.email
        customer.attributes = {**customer.attributes, "identity_verified": True}
        customer.last_seen_at = timezone.now()
        customer.save()
    conversation = customer.conversations.order_by("-last_activity_at", "-id").first()
    return customer, conversation
