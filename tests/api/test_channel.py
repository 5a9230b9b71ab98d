"""The API channel end to end: a bridge starts a conversation over the API, and the bot's answer, the
handoff and the agent's reply all come back to it by webhook (a real HTTP server on 127.0.0.1)."""

import pytest

from agents.models import Agent
from chat.models import Conversation
from triggers.models import TriggerRule

pytestmark = pytest.mark.django_db(transaction=True)

START = "/api/v1/channel/conversations/"


@pytest.fixture
def bridge(make_endpoint):
    """The bridge's webhook: API conversations only, with personal data (it must address its customer)."""
    return make_endpoint(name="WhatsApp bridge", channels=["api"], personal_data=True)


@pytest.fixture
def person_rule(support_team):
    return TriggerRule.objects.create(
        name="Asks for a person", conditions=[{"kind": "explicit_request"}], team=support_team, reason_label="Asked"
    )


def events_of(receiver, event_type):
    return [r.json()["data"] for r in receiver.requests if r.headers["Handoff-Event"] == event_type]


def test_the_round_trip_bot_answer_handoff_and_agent_reply_by_webhook(
    manager_client, agent_client, agent, bridge, receiver, bot, person_rule, always_open
):
    started = manager_client.post(
        START,
        {"customer": {"external_id": "+447700900123", "name": "Ada", "attributes": {"plan": "pro"}}},
        format="json",
    )
    assert started.status_code == 201, started.json()
    conversation = started.json()
    assert conversation["channel"] == "api" and conversation["replies_via"] == "webhook"
    assert conversation["customer"]["attributes"] == {"plan": "pro"}
    url = f"{START}{conversation['id']}/messages/"

    asked = manager_client.post(url, {"text": "Where is my parcel?", "client_id": "wa-1"}, format="json")
    assert asked.status_code == 202 and asked.json()["sender"] == "visitor"
    receiver.wait_for(3)  # conversation.created, the visitor's message, the bot's answer
    bot_answers = [e["message"] for e in events_of(receiver, "message.created") if e["message"]["sender"] == "bot"]
    assert bot_answers and bot_answers[0]["text"] == "Orders ship within 2 working days."
    assert bot_answers[0]["reply_to"] == asked.json()["seq"]
    assert bot.questions == ["Where is my parcel?"]

    # A retried POST (the bridge timed out) is stored once and answered once.
    again = manager_client.post(url, {"text": "Where is my parcel?", "client_id": "wa-1"}, format="json")
    assert again.status_code == 200 and again.json()["seq"] == asked.json()["seq"]
    assert bot.questions == ["Where is my parcel?"]

    count = len(receiver.requests)
    assert manager_client.post(url, {"text": "I want to talk to a person"}, format="json").status_code == 202
    receiver.wait_for(count + 3)
    (requested,) = events_of(receiver, "handoff.requested")
    assert requested["handoff"]["team"] == "support" and requested["conversation"]["channel"] == "api"
    notices = [e["message"] for e in events_of(receiver, "message.created") if e["message"]["sender"] == "system"]
    assert any(n["kind"] == "handoff_queued" for n in notices)

    # Dana takes it in the inbox (here: with her own token) and replies; the bridge receives it.
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.OFFLINE)
    conversation_url = f"/api/v1/conversations/{conversation['id']}"
    assert agent_client.post(f"{conversation_url}/handoff/assign/", {}, format="json").status_code == 200
    count = len(receiver.requests)
    reply = agent_client.post(f"{conversation_url}/messages/", {"text": "Hi Ada, Dana here."}, format="json")
    assert reply.status_code == 201
    receiver.wait_for(count + 1)
    agent_messages = [e["message"] for e in events_of(receiver, "message.created") if e["message"]["sender"] == "agent"]
    assert agent_messages == [{**agent_messages[0], "text": "Hi Ada, Dana here.", "author": {"name": "Dana"}}]
    assert events_of(receiver, "handoff.assigned")
    stored = Conversation.objects.get(pk=conversation["id"])
    assert stored.status == "assigned" and stored.customer.external_id == "+447700900123"


def test_the_same_customer_is_found_again_by_external_id(manager_client, bridge):
    first = manager_client.post(START, {"customer": {"external_id": "u-1"}}, format="json").json()
    second = manager_client.post(START, {"customer": {"external_id": "u-1", "email": "ada@example.com"}}, format="json")
    assert second.json()["customer"]["id"] == first["customer"]["id"]
    assert second.json()["customer"]["email"] == "ada@example.com"


def test_without_a_webhook_to_carry_replies_the_channel_refuses_with_409(manager_client, db):
    response = manager_client.post(START, {"customer": {"external_id": "u-1"}}, format="json")
    assert response.status_code == 409
    assert "webhook endpoint" in response.json()["detail"]
    assert not Conversation.objects.exists()


def test_the_channel_is_for_managers_tokens_with_the_channel_scope(make_client, manager, agent, bridge):
    assert make_client(agent.user).post(START, {"customer": {"external_id": "x"}}, format="json").status_code == 403
    read_write = make_client(manager, scopes=["read", "write"])
    assert read_write.post(START, {"customer": {"external_id": "x"}}, format="json").status_code == 403


def test_only_api_conversations_take_channel_messages(manager_client, bridge):
    from tests.factories import ConversationFactory

    widget_conversation = ConversationFactory()
    response = manager_client.post(f"{START}{widget_conversation.pk}/messages/", {"text": "hi"}, format="json")
    assert response.status_code == 404


def test_the_customer_asks_for_a_person(manager_client, bridge, receiver, support_team, always_open):
    conversation = manager_client.post(START, {"customer": {"external_id": "u-2"}}, format="json").json()
    response = manager_client.post(f"{START}{conversation['id']}/handoff/")
    assert response.status_code == 200 and response.json()["status"] == "queued"
    receiver.wait_for(2)
    assert events_of(receiver, "handoff.requested")


def test_the_inbox_shows_the_channel_and_links_the_hubspot_contact_safely(client, agent, support_team, always_open):
    from handoff.services import handoff_request
    from tests.factories import ConversationFactory

    conversation = ConversationFactory(
        channel="api", customer__attributes={"hubspot_url": "https://app.hubspot.com/contacts/1/record/0-1/151"}
    )
    handoff_request(conversation=conversation, reason="Asked", team=support_team)
    client.force_login(agent.user)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert "replies go to the bridge by webhook" in page
    assert 'href="https://app.hubspot.com/contacts/1/record/0-1/151"' in page
    assert "hubspot_url" not in page  # the link says it; the raw attribute is not listed again
    conversation.customer.attributes = {"hubspot_url": "javascript:alert(1)"}
    conversation.customer.save()
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert 'href="javascript:' not in page
