"""Sign-in throttling for both login pages (the inbox's /accounts/login/ and the admin's).

Failed sign-ins are counted per account and per client address in the default cache (Redis with
REDIS_URL, so every web process counts together). Once either count reaches its limit, sign-in
is refused with a message saying how long to wait, before the password is hashed at all: guessing
stops, and so does the PBKDF2 work that slowed every other request on a small server. A correct
password clears the account's count. Limits: LOGIN_FAILURES_PER_ACCOUNT and LOGIN_FAILURES_PER_ADDRESS
within LOGIN_LOCKOUT_SECONDS.
"""

import math
import time

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

from widget.budgets import address_key


def _keys(*, username: str, address: str) -> dict[str, tuple[str, int]]:
    window = int(time.time() // settings.LOGIN_LOCKOUT_SECONDS)
    account = username.strip().casefold()[:150]
    return {
        "account": (f"login-failures:account:{window}:{account}", settings.LOGIN_FAILURES_PER_ACCOUNT),
        "address": (f"login-failures:address:{window}:{address_key(address)}", settings.LOGIN_FAILURES_PER_ADDRESS),
    }


def login_refusal(*, username: str, address: str) -> str | None:
    """Why sign-in is refused right now for this account or address, or None."""
    keys = _keys(username=username, address=address)
    counts = cache.get_many([key for key, _ in keys.values()])
    for what, (key, limit) in keys.items():
        if counts.get(key, 0) >= limit:
            wait = settings.LOGIN_LOCKOUT_SECONDS - time.time() % settings.LOGIN_LOCKOUT_SECONDS
            minutes = max(1, math.ceil(wait / 60))
            subject = "this account" if what == "account" else "your network"
            return (
                f"Too many failed sign-ins for {subject}. Try again in {minutes} minute{'s' if minutes != 1 else ''}, "
                "or reset your password."
            )
    return None


def login_failure_record(*, username: str, address: str) -> None:
    for key, _ in _keys(username=username, address=address).values():
        # add() then incr(): both atomic in Redis, so concurrent failures are all counted.
        cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS + 1)
        try:
            cache.incr(key)
        except ValueError:  # expired in between
            cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS + 1)


def login_success_record(*, username: str, address: str) -> None:
    cache.delete(_keys(username=username, address=address)["account"][0])


class ThrottledLoginMixin:
    """For Django's authentication forms: refuse while throttled, count failures."""

    def clean(self):
        username = str(self.data.get("username", ""))
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if refusal := login_refusal(username=username, address=address):
            raise forms.ValidationError(refusal, code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if error.code == "invalid_login":
                login_failure_record(username=username, address=address)
            raise
        login_success_record(username=username, address=address)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
