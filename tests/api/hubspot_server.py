"""A local HTTP server speaking the part of HubSpot's CRM v3 API that Handoff calls, as HubSpot documents it:
bearer auth (401 with HubSpot's error body otherwise), contact search by email (filterGroups/filters,
properties, limit), contact creation (201; 409 CONFLICT "Contact already exists. Existing ID: n"), notes
with associations (201), property values as strings, and 429 RATE_LIMIT with Retry-After on demand.
Request bodies are checked strictly: a call HubSpot would reject with 400 VALIDATION_ERROR gets one here."""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field

from tests.support.http_receiver import Receiver, Request

OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "IN"}
NOW = "2026-12-01T10:00:00.000Z"


def _error(status: int, message: str, category: str, **extra) -> tuple[int, dict, bytes]:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
    return status, {"Content-Type": "application/json;charset=utf-8"}, json.dumps(body).encode()


def _ok(status: int, body: dict) -> tuple[int, dict, bytes]:
    return status, {"Content-Type": "application/json;charset=utf-8"}, json.dumps(body).encode()


@dataclass
class HubSpotServer:
    token: str = "pat-na1-test-token"
    contacts: dict[str, dict] = field(default_factory=dict)  # id -> properties (strings)
    notes: list[dict] = field(default_factory=list)
    rate_limit_next: int = 0  # answer this many requests with 429 first
    ids = itertools.count(151)

    def start(self) -> HubSpotServer:
        self.receiver = Receiver(handler=self.handle).start()
        return self

    @property
    def url(self) -> str:
        return self.receiver.url

    @property
    def requests(self) -> list[Request]:
        return self.receiver.requests

    def stop(self) -> None:
        self.receiver.stop()

    def add_contact(self, **properties: str) -> str:
        contact_id = str(next(self.ids))
        self.contacts[contact_id] = {
            "hs_object_id": contact_id,
            "createdate": NOW,
            "lastmodifieddate": NOW,
            **properties,
        }
        return contact_id

    def _object(self, contact_id: str, wanted: list[str] | None = None) -> dict:
        properties = self.contacts[contact_id]
        shown = {name: properties.get(name) for name in (wanted or ["email", "firstname", "lastname"])}
        shown.update(hs_object_id=contact_id, createdate=NOW, lastmodifieddate=NOW)
        return {"id": contact_id, "properties": shown, "createdAt": NOW, "updatedAt": NOW, "archived": False}

    def handle(self, request: Request):
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            status, headers, body = _error(
                429,
                "You have reached your secondly limit.",
                "RATE_LIMITS",
                errorType="RATE_LIMIT",
                policyName="SECONDLY",
            )
            return status, {**headers, "Retry-After": "1", "X-HubSpot-RateLimit-Secondly-Remaining": "0"}, body
        if request.method != "POST" or "json" not in request.headers.get("Content-Type", ""):
            return _error(415, "Unsupported content type", "VALIDATION_ERROR")
        try:
            body = request.json()
        except ValueError:
            return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        routes = {
            "/crm/v3/objects/contacts/search": self.search,
            "/crm/v3/objects/contacts": self.create_contact,
            "/crm/v3/objects/notes": self.create_note,
        }
        route = routes.get(request.path)
        return route(body) if route else _error(404, "Not found", "OBJECT_NOT_FOUND")

    def search(self, body: dict):
        groups = body.get("filterGroups")
        if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("filters"), list) for g in groups
        ):
            return _error(400, "Invalid input JSON: filterGroups", "VALIDATION_ERROR")
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or not 1 <= limit <= 200:
            return _error(400, "limit must be between 1 and 200", "VALIDATION_ERROR")
        wanted = body.get("properties")
        if wanted is not None and not (isinstance(wanted, list) and all(isinstance(p, str) for p in wanted)):
            return _error(400, "properties must be a list of names", "VALIDATION_ERROR")
        matches = []
        for contact_id, properties in self.contacts.items():
            for group in groups:
                ok = True
                for f in group["filters"]:
                    if f.get("operator") not in OPERATORS or not isinstance(f.get("propertyName"), str):
                        return _error(400, "Invalid filter", "VALIDATION_ERROR")
                    if (
                        f["operator"] == "EQ"
                        and (properties.get(f["propertyName"]) or "").lower() != str(f.get("value", "")).lower()
                    ):
                        ok = False
                if ok:
                    matches.append(contact_id)
                    break
        results = [self._object(contact_id, wanted) for contact_id in matches[:limit]]
        return _ok(200, {"total": len(matches), "results": results})

    def create_contact(self, body: dict):
        properties = body.get("properties")
        if not isinstance(properties, dict) or not all(isinstance(v, str) for v in properties.values()):
            return _error(400, "Property values were not valid", "VALIDATION_ERROR")
        email = properties.get("email", "").lower()
        for contact_id, existing in self.contacts.items():
            if email and existing.get("email", "").lower() == email:
                return _error(409, f"Contact already exists. Existing ID: {contact_id}", "CONFLICT")
        contact_id = self.add_contact(**properties)
        return _ok(201, self._object(contact_id, list(properties)))

    def create_note(self, body: dict):
        properties = body.get("properties") or {}
        if not isinstance(properties.get("hs_timestamp"), str):
            return _error(400, "Property hs_timestamp is required", "VALIDATION_ERROR")
        for association in body.get("associations", []):
            types = association.get("types")
            target = association.get("to", {}).get("id")
            if not types or target not in self.contacts:
                return _error(400, "Invalid association", "VALIDATION_ERROR")
            for kind in types:
                if kind.get("associationCategory") not in ("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"):
                    return _error(400, "Invalid association category", "VALIDATION_ERROR")
        note_id = str(next(self.ids))
        self.notes.append({"id": note_id, **body})
        return _ok(
            201, {"id": note_id, "properties": properties, "createdAt": NOW, "updatedAt": NOW, "archived": False}
        )
