"""Delivering webhook events: stored with the change that caused them, sent from Celery, retried.

1. `webhook_event_emit` runs inside the transaction of the change (a message, a handoff, ...). It
   stores one WebhookDelivery per subscribed endpoint and queues them once the transaction commits:
   a rolled-back change announces nothing, and a broker that is down loses nothing (the beat sweep
   sends what was never queued). With no endpoint registered it costs a look at this process's copy
   of the endpoint list (refreshed from the shared cache every few seconds).
2. `webhook_delivery_attempt` claims the delivery (one worker wins), POSTs the signed body through
   the outbound guard (private addresses refused, connect/total timeouts), and records the attempt.
3. A failure is retried with exponential backoff up to WEBHOOK_MAX_ATTEMPTS; WEBHOOK_DISABLE_AFTER
   consecutive failures of an endpoint disable it, with the reason shown in admin.
The chat never waits on a receiver: only the worker talks to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from api.webhooks.events import envelope, without_personal_data
from api.webhooks.signing import SIGNATURE_HEADER, webhook_signature
from chat.db import ReadEvery
from outbound import Client, OutboundError

logger = logging.getLogger(__name__)

ENDPOINTS_CACHE_KEY = "webhooks:active-endpoints:v1"
ENDPOINTS_CACHE_SECONDS = 300
MAX_RESPONSE_BYTES = 64_000  # a receiver's answer is only logged
SENDING_LEASE = timedelta(minutes=5)  # a worker that died mid-send gives the delivery back after this
SWEEP_GRACE = timedelta(seconds=30)  # the queue had this long to deliver before the sweep steps in
USER_AGENT = "Handoff-Webhooks/1"

Status = WebhookDelivery.Status


# --- Which endpoints listen (cached: this runs on every message) --------------------------------------------


def endpoints_active() -> list[dict[str, Any]]:
    """The active endpoints (read-only), from this process's copy while it is fresh (see below)."""
    return _endpoints_here()


def _endpoints_shared() -> list[dict[str, Any]]:
    # The cache is Redis with REDIS_URL: while it is down, read the table (this runs inside the
    # transaction storing every visitor message, which must not fail for want of a cache).
    try:
        endpoints = cache.get(ENDPOINTS_CACHE_KEY)
    except RedisError:
        logger.warning("Cache unavailable; reading webhook endpoints from the database")
        endpoints = None
    if endpoints is None:
        endpoints = list(
            WebhookEndpoint.objects.filter(active=True).values("id", "events", "channels", "personal_data")
        )
        with contextlib.suppress(RedisError):
            cache.set(ENDPOINTS_CACHE_KEY, endpoints, ENDPOINTS_CACHE_SECONDS)
    return endpoints


# Each process also keeps the list for a few seconds: it is asked inside the transaction of every stored
# message, and a Redis round trip each time is a wait on the visitor's ack. An endpoint changed in this
# process applies at once; one changed in another (a worker disabling a failing endpoint) within this time.
ENDPOINTS_LOCAL_SECONDS = 2.0
_endpoints_here = ReadEvery(_endpoints_shared, seconds=ENDPOINTS_LOCAL_SECONDS)


def endpoints_changed() -> None:
    cache.delete(ENDPOINTS_CACHE_KEY)
    _endpoints_here.forget()
    # Inside a transaction, other threads may read the old rows until it commits: forget again then.
    # (Asking get_autocommit() would open a connection, which callers outside the database need not have.)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_endpoints_here.forget)


def _wants(endpoint: dict[str, Any], event_type: str, channel: str | None) -> bool:
    return WebhookEndpoint(events=endpoint["events"], channels=endpoint["channels"]).wants(
        event_type=event_type, channel=channel
    )


# --- Emitting ------------------------------------------------------------------------------------------------


def webhook_event_emit(*, event_type: str, data: Callable[[], dict[str, Any]], channel: str | None = None) -> int:
    """Store the event for every endpoint that wants it and send it after commit; returns how many.

    `data` builds the payload only when some endpoint wants the event (it may cost queries).
    """
    endpoints = [e for e in endpoints_active() if _wants(e, event_type, channel)]
    if not endpoints:
        return 0
    payload = envelope(event_type=event_type, data=data())
    scrubbed = without_personal_data(payload) if not all(e["personal_data"] for e in endpoints) else payload
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoint["id"],
                event_id=payload["id"],
                event_type=event_type,
                payload=payload if endpoint["personal_data"] else scrubbed,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: [webhook_deliver_task.delay(delivery_id, 1) for delivery_id in ids])
    return len(ids)


# --- Sending -------------------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """30 s, 90 s, 4.5 min, 13.5 min, ... (x3 each time), at most 6 hours."""
    base = settings.WEBHOOK_RETRY_SECONDS
    return timedelta(seconds=min(base * 3 ** max(attempts - 1, 0), 6 * 3600))


def webhook_delivery_attempt(*, delivery_id: int, attempt: int, manual: bool = False) -> str:
    """Send delivery `delivery_id` if it is still waiting for its attempt number `attempt`.

    Returns what happened: "succeeded", "retrying", "failed" or "skipped" (another worker has it,
    or it is no longer pending: a duplicate task from the sweep or a redelivery does nothing).
    """
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, attempts=attempt - 1).update(
        status=Status.SENDING, claimed_at=now
    )
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:  # its endpoint was deleted (the inner join finds none)
        WebhookDelivery.objects.filter(pk=delivery_id).delete()
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.active:
        reason = endpoint.disabled_reason or "the endpoint is switched off"
        return _finish(delivery, attempt=attempt, manual=manual, code=None, latency_ms=0, error=f"Not sent: {reason}")

    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: webhook_signature(secret=endpoint.secret, timestamp=int(time.time()), body=body),
        "Handoff-Event": delivery.event_type,
        "Handoff-Event-Id": str(delivery.event_id),
        "Handoff-Delivery": str(delivery.pk),
    }
    started = time.monotonic()
    try:
        with Client(
            user_agent=USER_AGENT,
            connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT,
            read_timeout=settings.WEBHOOK_TIMEOUT,
            total_timeout=settings.WEBHOOK_TIMEOUT,
            max_bytes=MAX_RESPONSE_BYTES,
        ) as client:
            response = client.post(endpoint.url, content=body, headers=headers, follow_redirects=False)
        code, error = response.status, "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    except OutboundError as exc:
        code, error = None, str(exc)[:500] or type(exc).__name__
    latency_ms = round((time.monotonic() - started) * 1000)
    return _finish(delivery, attempt=attempt, manual=manual, code=code, latency_ms=latency_ms, error=error)


def _finish(delivery: WebhookDelivery, *, attempt: int, manual: bool, code, latency_ms: int, error: str) -> str:
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery, number=attempt, manual=manual, status_code=code, latency_ms=latency_ms, error=error
    )
    changes: dict[str, Any] = {
        "attempts": attempt,
        "claimed_at": None,
        "last_status_code": code,
        "last_latency_ms": latency_ms,
        "last_error": error,
    }
    endpoint = delivery.endpoint
    if not error:
        changes.update(status=Status.SUCCEEDED, delivered_at=now, next_attempt_at=None)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(consecutive_failures=0).update(consecutive_failures=0)
        return "succeeded"

    if endpoint.active:
        _count_failure(endpoint, error)
    retry = not manual and attempt < settings.WEBHOOK_MAX_ATTEMPTS and _is_active(endpoint)
    if retry:
        delay = retry_delay(attempt)
        changes.update(status=Status.PENDING, next_attempt_at=now + delay)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
        webhook_deliver_task.apply_async((delivery.pk, attempt + 1), countdown=delay.total_seconds())
        return "retrying"
    changes.update(status=Status.FAILED, next_attempt_at=None)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    return "failed"


def _is_active(endpoint: WebhookEndpoint) -> bool:
    return WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).exists()


def _count_failure(endpoint: WebhookEndpoint, error: str) -> None:
    """One more consecutive failure; at WEBHOOK_DISABLE_AFTER the endpoint is switched off."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    limit = settings.WEBHOOK_DISABLE_AFTER
    reason = f"Disabled after {limit} consecutive failed deliveries (last: {error})"[:500]
    disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True, consecutive_failures__gte=limit).update(
        active=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    if disabled:
        endpoints_changed()
        logger.warning("Webhook endpoint %s (%s): %s", endpoint.pk, endpoint.url, reason)


# --- Safety net and people ------------------------------------------------------------------------------------


def webhook_deliveries_sweep() -> int:
    """Queue what is due but was never sent (broker down at commit, worker died mid-send)."""
    now = timezone.now()
    # Due at once (since its claim), so this same sweep sends it again.
    WebhookDelivery.objects.filter(status=Status.SENDING, claimed_at__lt=now - SENDING_LEASE).update(
        status=Status.PENDING, next_attempt_at=F("claimed_at"), claimed_at=None
    )
    due = list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE).values_list(
            "pk", "attempts"
        )[:1000]
    )
    for delivery_id, attempts in due:
        webhook_deliver_task.delay(delivery_id, attempts + 1)
    return len(due)


def webhook_redeliver(*, deliveries) -> int:
    """A person asks for one more try now (from the delivery log); returns how many were queued."""
    queued = []
    for delivery_id, attempts in deliveries.exclude(status=Status.SENDING).values_list("pk", "attempts"):
        WebhookDelivery.objects.filter(pk=delivery_id).exclude(status=Status.SENDING).update(
            status=Status.PENDING, next_attempt_at=timezone.now()
        )
        queued.append((delivery_id, attempts + 1))
    transaction.on_commit(lambda: [webhook_deliver_task.delay(pk, n, manual=True) for pk, n in queued])
    return len(queued)


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=True, consecutive_failures=0, disabled_at=None, disabled_reason=""
    )
    endpoints_changed()


@shared_task(name="api.tasks.deliver_webhook", ignore_result=True)
def webhook_deliver_task(delivery_id: int, attempt: int, manual: bool = False) -> None:
    webhook_delivery_attempt(delivery_id=delivery_id, attempt=attempt, manual=manual)


@shared_task(name="api.tasks.sweep_webhook_deliveries", ignore_result=True)
def webhook_sweep_task() -> None:
    webhook_deliveries_sweep()
