"""HubSpot, contract-tested against tests/api/hubspot_server.py (HubSpot's CRM v3 as documented)."""

import pytest

from api.integrations.hubspot import HubSpotClient, HubSpotError
from api.models import HubSpotIntegration
from chat.models import Customer
from handoff.services import handoff_request, handoff_resolve
from tests.api.hubspot_server import HubSpotServer
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hubspot(allow_loopback):
    server = HubSpotServer().start()
    yield server
    server.stop()


@pytest.fixture
def enabled(hubspot):
    from api.integrations.hubspot import hubspot_settings_changed

    integration = HubSpotIntegration.objects.create(
        enabled=True, access_token=hubspot.token, portal_id="8675309", base_url=hubspot.url
    )
    yield integration
    hubspot_settings_changed()


@pytest.fixture
def conversation(support_team, always_open):
    conversation = ConversationFactory(customer__email="ada@example.com", customer__name="Ada Lovelace")
    MessageFactory(conversation=conversation, text="My invoice is wrong")
    return conversation


def test_on_handoff_the_contacts_facts_become_customer_attributes(hubspot, enabled, conversation, support_team):
    contact_id = hubspot.add_contact(
        email="ada@example.com", lifecyclestage="customer", company="Analytical Engines", total_revenue="12000.50"
    )
    handoff_request(conversation=conversation, reason="Billing question", team=support_team)
    customer = Customer.objects.get(pk=conversation.customer_id)
    assert customer.attributes["hubspot_contact_id"] == contact_id
    assert customer.attributes["lifecycle_stage"] == "customer"
    assert customer.attributes["company"] == "Analytical Engines"
    assert customer.attributes["deal_value"] == 12000.5
    assert customer.attributes["hubspot_url"] == f"https://app.hubspot.com/contacts/8675309/record/0-1/{contact_id}"
    (search,) = hubspot.requests
    assert search.path == "/crm/v3/objects/contacts/search"
    assert search.headers["Authorization"] == f"Bearer {hubspot.token}"
    assert search.json()["filterGroups"] == [
        {"filters": [{"propertyName": "email", "operator": "EQ", "value": "ada@example.com"}]}
    ]


def test_a_customer_unknown_to_hubspot_is_created_as_a_contact(hubspot, enabled, conversation, support_team):
    handoff_request(conversation=conversation, reason="Billing question", team=support_team)
    assert [r.path for r in hubspot.requests] == ["/crm/v3/objects/contacts/search", "/crm/v3/objects/contacts"]
    assert hubspot.requests[1].json() == {"properties": {"email": "ada@example.com", "firstname": "Ada"}}
    (contact,) = hubspot.contacts.values()
    assert contact["email"] == "ada@example.com"
    assert Customer.objects.get(pk=conversation.customer_id).attributes["hubspot_contact_id"]


def test_on_resolution_the_transcript_and_reason_go_on_the_contacts_timeline(
    hubspot, enabled, conversation, support_team
):
    contact_id = hubspot.add_contact(email="ada@example.com")
    handoff_request(conversation=conversation, reason="Billing question", team=support_team)
    handoff_resolve(conversation=conversation)
    (note,) = hubspot.notes
    body = note["properties"]["hs_note_body"]
    assert "Billing question" in body and "My invoice is wrong" in body
    assert note["associations"] == [
        {"to": {"id": contact_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}
    ]


def test_a_429_is_retried_after_retry_after(hubspot, allow_loopback):
    hubspot.add_contact(email="ada@example.com")
    hubspot.rate_limit_next = 1
    waits = []
    client = HubSpotClient(token=hubspot.token, base_url=hubspot.url, sleep=waits.append)
    assert client.contact_by_email("ada@example.com") is not None
    assert waits == [1.0]  # the server's Retry-After
    assert len(hubspot.requests) == 2


def test_rate_limited_too_long_is_a_transient_error_for_celery_to_retry(hubspot, allow_loopback):
    hubspot.rate_limit_next = 10
    client = HubSpotClient(token=hubspot.token, base_url=hubspot.url, sleep=lambda seconds: None)
    with pytest.raises(HubSpotError) as raised:
        client.contact_by_email("ada@example.com")
    assert raised.value.transient and "429" in str(raised.value)


def test_a_wrong_token_is_refused_logged_and_not_retried(hubspot, enabled, conversation, support_team):
    HubSpotIntegration.objects.update(access_token="pat-na1-revoked")
    handoff_request(conversation=conversation, reason="Billing question", team=support_team)
    assert len(hubspot.requests) == 1
    integration = HubSpotIntegration.objects.get()
    assert "401" in integration.last_error and "Authentication credentials not found" in integration.last_error
    assert "hubspot_contact_id" not in Customer.objects.get(pk=conversation.customer_id).attributes


def test_nothing_is_sent_while_the_integration_is_off(hubspot, conversation, support_team):
    HubSpotIntegration.objects.create(enabled=False, access_token=hubspot.token, base_url=hubspot.url)
    handoff_request(conversation=conversation, reason="Billing question", team=support_team)
    assert hubspot.requests == []
