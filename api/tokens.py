"""API tokens: issue (the secret shown once), authenticate (by its hash), revoke.

A token is `hnd_` + 43 random URL-safe characters (256 bits). Only its SHA-256 is stored: a
hash of a secret that long cannot be brute-forced, so no slow KDF or salt is needed, and the
lookup is one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from api.models import ApiToken

TOKEN_PREFIX = "hnd_"  # noqa: S105 - the public marker every token starts with, not a secret
# last_used_at is written at most this often per token: not one UPDATE per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 100


class InvalidApiToken(Exception):
    """Unknown, revoked or expired, or its user was deactivated."""


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_issue(*, token: ApiToken) -> str:
    """Give an unsaved token its secret and store it; returns the secret (stored only as a hash)."""
    unknown = set(token.scopes) - set(ApiToken.Scope.values)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.prefix = secret[: len(TOKEN_PREFIX) + 6]
    token.digest = token_digest(secret)
    token.scopes = sorted(set(token.scopes))
    token.save()
    return secret


def api_token_authenticate(*, secret: str) -> ApiToken:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        raise InvalidApiToken("That is not a Handoff API token.")
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(secret), revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None:
        raise InvalidApiToken("The token is unknown, revoked or expired.")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_tokens_revoke(*, tokens) -> int:
    """Revoke at once: the next request with any of them is refused."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
