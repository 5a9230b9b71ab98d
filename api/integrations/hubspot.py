"""HubSpot (CRM v3): contacts looked up or created on handoff, the conversation logged on resolution.

The few endpoints called, exactly as HubSpot documents them (tests/api/hubspot_server.py serves the
same contract locally; there is no network in CI):

- POST /crm/v3/objects/contacts/search  {"filterGroups": [{"filters": [{"propertyName": "email",
  "operator": "EQ", "value": ...}]}], "properties": [...], "limit": 1} -> {"total", "results": [...]}
- POST /crm/v3/objects/contacts         {"properties": {...}} -> 201 {"id", "properties", ...}
- POST /crm/v3/objects/notes            {"properties": {"hs_timestamp", "hs_note_body"}, "associations":
  [{"to": {"id"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}]}

Every call carries `Authorization: Bearer <private app token>`, goes through the outbound guard
(connect/total timeouts), and is retried a bounded number of times on 429 (after Retry-After) and 5xx.
The calls run in Celery, never in the chat path.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from api.models import HubSpotIntegration
from chat.models import Conversation, Customer
from chat.services import customer_update
from outbound import Client, OutboundError

logger = logging.getLogger(__name__)

CONTACT_PROPERTIES = ["email", "firstname", "lastname", "company", "lifecyclestage", "total_revenue"]
NOTE_TO_CONTACT = 202  # HubSpot's association type id for note -> contact
MAX_TRIES = 3
MAX_RETRY_AFTER = 10.0  # seconds; a longer wait is left to the Celery retry
NOTE_MAX_CHARS = 60_000


class HubSpotError(Exception):
    """HubSpot refused or could not be reached; `transient` errors are worth retrying later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Contact:
    id: str
    properties: dict[str, Any]


class HubSpotClient:
    def __init__(self, *, token: str, base_url: str, sleep=time.sleep) -> None:
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.sleep = sleep

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for attempt in range(1, MAX_TRIES + 1):
            try:
                with Client(user_agent="Handoff-HubSpot/1", connect_timeout=3, read_timeout=10, total_timeout=15) as c:
                    response = c.post(self.base_url + path, json=body, headers=headers, follow_redirects=False)
            except OutboundError as error:
                if attempt == MAX_TRIES:
                    raise HubSpotError(f"HubSpot unreachable: {error}", transient=True) from error
                self.sleep(attempt)
                continue
            if response.status in (200, 201):
                return _json(response)
            if response.status == 429 or response.status >= 500:
                if attempt == MAX_TRIES:
                    raise HubSpotError(f"HubSpot answered {response.status} {_message(response)}", transient=True)
                self.sleep(_retry_after(response, default=attempt))
                continue
            raise HubSpotError(f"HubSpot answered {response.status}: {_message(response)}")
        raise AssertionError("unreachable")

    def contact_by_email(self, email: str) -> Contact | None:
        body = {
            "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}],
            "properties": CONTACT_PROPERTIES,
            "limit": 1,
        }
        results = self._post("/crm/v3/objects/contacts/search", body).get("results") or []
        return Contact(id=str(results[0]["id"]), properties=results[0].get("properties") or {}) if results else None

    def contact_create(self, *, email: str, firstname: str = "") -> Contact:
        properties = {"email": email, **({"firstname": firstname} if firstname else {})}
        data = self._post("/crm/v3/objects/contacts", {"properties": properties})
        return Contact(id=str(data["id"]), properties=data.get("properties") or {})

    def note_create(self, *, contact_id: str, body: str) -> str:
        data = self._post(
            "/crm/v3/objects/notes",
            {
                "properties": {"hs_timestamp": timezone.now().isoformat(), "hs_note_body": body[:NOTE_MAX_CHARS]},
                "associations": [
                    {
                        "to": {"id": contact_id},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}],
                    }
                ],
            },
        )
        return str(data["id"])


def _json(response) -> dict[str, Any]:
    try:
        data = json.loads(response.content or b"{}")
    except ValueError as error:
        raise HubSpotError("HubSpot sent a body that is not JSON") from error
    if not isinstance(data, dict):
        raise HubSpotError("HubSpot sent an unexpected body")
    return data


def _message(response) -> str:
    try:
        return str(_json(response).get("message", ""))[:300]
    except HubSpotError:
        return response.text[:300]


def _retry_after(response, *, default: float) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", default)), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return default


# --- What Handoff does with it -----------------------------------------------------------------------------


HUBSPOT_CACHE_KEY = "hubspot:enabled:v1"


def hubspot_enabled() -> bool:
    """Cached: asked on every handoff transition."""
    enabled = cache.get(HUBSPOT_CACHE_KEY)
    if enabled is None:
        enabled = HubSpotIntegration.objects.filter(enabled=True).exclude(access_token="").exists()
        cache.set(HUBSPOT_CACHE_KEY, enabled, 300)
    return enabled


def hubspot_settings_changed() -> None:
    cache.delete(HUBSPOT_CACHE_KEY)


def hubspot_client() -> HubSpotClient | None:
    integration = HubSpotIntegration.objects.filter(enabled=True).exclude(access_token="").first()
    if integration is None:
        return None
    return HubSpotClient(token=integration.access_token, base_url=integration.base_url)


def _contact_for(client: HubSpotClient, customer: Customer) -> Contact:
    contact = client.contact_by_email(customer.email)
    if contact is None:
        contact = client.contact_create(email=customer.email, firstname=customer.name.split(" ")[0])
    return contact


def hubspot_contact_sync(*, conversation_id: int) -> Contact | None:
    """On handoff: the customer's contact (found by email, else created), its facts into the customer's
    attributes (lifecycle_stage, company, deal_value) for VIP rules and the agent's context panel."""
    client = hubspot_client()
    conversation = Conversation.objects.select_related("customer").filter(pk=conversation_id).first()
    if client is None or conversation is None or not conversation.customer.email:
        return None
    contact = _contact_for(client, conversation.customer)
    properties = contact.properties
    attributes: dict[str, Any] = {
        "hubspot_contact_id": contact.id,
        "hubspot_url": HubSpotIntegration.contact_url(contact.id),
        "lifecycle_stage": properties.get("lifecyclestage") or None,
        "company": properties.get("company") or None,
        "deal_value": _number(properties.get("total_revenue")),
    }
    customer_update(customer=conversation.customer, changes={}, attributes=attributes)
    return contact


def hubspot_conversation_log(*, conversation_id: int, reason: str) -> str | None:
    """On resolution: the transcript and the handoff reason as a note on the contact's timeline."""
    client = hubspot_client()
    conversation = Conversation.objects.select_related("customer").filter(pk=conversation_id).first()
    if client is None or conversation is None or not conversation.customer.email:
        return None
    contact_id = (
        conversation.customer.attributes.get("hubspot_contact_id") or _contact_for(client, conversation.customer).id
    )
    lines = [
        f"Support conversation {conversation.pk} (Handoff), resolved.",
        f"Handed to a person because: {reason}",
        "",
    ]
    for message in conversation.messages.order_by("seq"):
        lines.append(f"[{message.created_at:%Y-%m-%d %H:%M}] {message.get_sender_display()}: {message.text}")
    return client.note_create(contact_id=str(contact_id), body="\n".join(lines))


def _number(value) -> float | None:
    try:
        return float(Decimal(str(value))) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


@shared_task(
    name="api.tasks.hubspot_sync_contact",
    ignore_result=True,
    autoretry_for=(HubSpotError,),
    retry_backoff=30,
    max_retries=5,
)
def hubspot_sync_contact_task(conversation_id: int) -> None:
    with _only_transient_errors_retry("syncing the contact of conversation %s", conversation_id):
        hubspot_contact_sync(conversation_id=conversation_id)


@shared_task(
    name="api.tasks.hubspot_log_conversation",
    ignore_result=True,
    autoretry_for=(HubSpotError,),
    retry_backoff=30,
    max_retries=5,
)
def hubspot_log_conversation_task(conversation_id: int, reason: str) -> None:
    with _only_transient_errors_retry("logging conversation %s", conversation_id):
        hubspot_conversation_log(conversation_id=conversation_id, reason=reason)


@contextmanager
def _only_transient_errors_retry(what: str, *args):
    """A 429 or an outage is retried by Celery; a refusal (a revoked token, a bad request) is logged once."""
    try:
        yield
    except HubSpotError as error:
        if error.transient:
            raise
        logger.warning("HubSpot: %s failed: %s", what % args, error)
        HubSpotIntegration.objects.update(last_error=str(error)[:500], last_error_at=timezone.now())
