"""Budgets for what anonymous visitors can make us do: per client address, and for everyone.

The message limit (widget/ratelimit.py) is per visitor, and a script that drops its token is a new
visitor on every socket. So opening sockets, starting conversations, asking for a person and leaving
an email are also counted by client address and in total (settings.WIDGET_BUDGETS), in the shared
cache: with REDIS_URL every web process counts together. The address is counted before the total, so
a client's refused attempts never use up everyone else's budget.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from django.conf import settings

from widget.ratelimit import RateLimitResult, rate_limit_hit

BudgetAction = Literal["connect", "conversation", "handoff", "contact"]

REFUSALS: dict[BudgetAction, str] = {
    "connect": "Too many chat connections right now; we'll try again in a moment.",
    "conversation": "Too many new conversations right now; please try again in a few minutes.",
    "handoff": "We've had too many requests for a person right now; please try again in a few minutes.",
    "contact": "Too many email addresses left right now; please try again in a few minutes.",
}


class BudgetExceeded(Exception):
    def __init__(self, action: BudgetAction, retry_after: float) -> None:
        super().__init__(REFUSALS[action])
        self.action = action
        self.retry_after = retry_after


def client_address(scope: dict) -> str:
    """Who is counted: the peer address (Daphne puts the proxy's client there when told to trust it,
    see `manage.py serve`)."""
    client = scope.get("client") or ("", 0)
    return address_key(client[0])


def address_key(address: str | None) -> str:
    """An address as budgets count it: one IPv6 subscriber usually holds a whole /64, so it counts as one."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def budget_spend(*, action: BudgetAction, client: str) -> None:
    """Count one `action` for `client`; raises BudgetExceeded (with retry_after) when either budget is spent."""
    per_client, total, window = settings.WIDGET_BUDGETS[action]
    for key, limit in ((f"budget:{action}:{client}", per_client), (f"budget:{action}:*", total)):
        verdict: RateLimitResult = rate_limit_hit(key=key, limit=limit, window_seconds=window)
        if not verdict.allowed:
            raise BudgetExceeded(action, verdict.retry_after)
