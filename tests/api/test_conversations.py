"""Conversations over the API: exactly what the token's user sees in the inbox; handoff actions as 409s."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent
from handoff.models import Handoff
from handoff.services import handoff_request
from tests.factories import ConversationFactory, MessageFactory


@pytest.fixture
def mine(support_team, always_open):
    conversation = ConversationFactory(customer__name="Ada", tags=["vip"])
    MessageFactory(conversation=conversation, text="Where is my order?")
    handoff_request(conversation=conversation, reason="Visitor asked for a person", team=support_team)
    return conversation


@pytest.fixture
def theirs(billing_team, always_open):
    conversation = ConversationFactory(customer__name="Bob")
    handoff_request(conversation=conversation, reason="Billing question", team=billing_team)
    return conversation


def test_an_agents_token_sees_exactly_their_teams_conversations(agent_client, mine, theirs):
    listed = agent_client.get("/api/v1/conversations/").json()
    assert [c["id"] for c in listed["results"]] == [mine.pk]
    assert listed["results"][0]["handoff"]["team"] == "support"
    assert listed["results"][0]["replies_via"] == "widget"
    assert agent_client.get(f"/api/v1/conversations/{theirs.pk}/").status_code == 404
    assert agent_client.get(f"/api/v1/conversations/{theirs.pk}/messages/").status_code == 404
    response = agent_client.post(f"/api/v1/conversations/{theirs.pk}/resolve/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "queued"


def test_a_managers_token_sees_every_conversation_and_filters_them(manager_client, mine, theirs):
    ids = {c["id"] for c in manager_client.get("/api/v1/conversations/").json()["results"]}
    assert ids == {mine.pk, theirs.pk}
    assert [c["id"] for c in manager_client.get("/api/v1/conversations/?team=billing").json()["results"]] == [theirs.pk]
    assert [c["id"] for c in manager_client.get("/api/v1/conversations/?tag=vip").json()["results"]] == [mine.pk]
    assert manager_client.get("/api/v1/conversations/?status=resolved").json()["count"] == 0
    assert manager_client.get("/api/v1/conversations/?updated_since=2999-01-01T00:00:00Z").json()["count"] == 0
    assert manager_client.get("/api/v1/conversations/?status=nonsense").status_code == 400
    assert manager_client.get("/api/v1/conversations/?updated_since=yesterday").status_code == 400


def test_messages_page_by_seq(manager_client, mine):
    for n in range(4):
        MessageFactory(conversation=mine, sender="bot", text=f"answer {n}")
    first = manager_client.get(f"/api/v1/conversations/{mine.pk}/messages/?limit=2").json()
    assert [m["seq"] for m in first["results"]] == [1, 2] and first["next_after"] == 2
    rest = manager_client.get(f"/api/v1/conversations/{mine.pk}/messages/?after=2&limit=50").json()
    assert [m["seq"] for m in rest["results"]] == list(range(3, mine.messages.count() + 1))
    assert rest["next_after"] is None
    assert manager_client.get(f"/api/v1/conversations/{mine.pk}/messages/?after=-1").status_code == 400


def test_the_conversation_list_costs_a_fixed_number_of_queries(manager_client, mine, theirs):
    manager_client.get("/api/v1/conversations/")
    with CaptureQueriesContext(connection) as queries:
        assert manager_client.get("/api/v1/conversations/").json()["count"] == 2
    # token (with user), count, the page with customers, the page's open handoffs with teams
    assert len(queries) == 4, [q["sql"] for q in queries]


def test_the_whole_handoff_over_the_api_with_domain_errors_as_409(agent_client, agent, mine):
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.OFFLINE)
    url = f"/api/v1/conversations/{mine.pk}"
    response = agent_client.post(f"{url}/handoff/assign/", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "assigned" and response.json()["handoff"]["agent"] == agent.pk
    again = agent_client.post(f"{url}/handoff/assign/", {}, format="json")
    assert again.status_code == 409
    assert "already assigned to you" in again.json()["detail"]

    reply = agent_client.post(
        f"{url}/messages/", {"text": "Hi Ada, let me look."}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert reply.status_code == 201 and reply.json()["sender"] == "agent" and reply.json()["author"] == "Dana"
    retried = agent_client.post(
        f"{url}/messages/", {"text": "Hi Ada, let me look."}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert retried.status_code == 200 and retried.json()["seq"] == reply.json()["seq"]
    assert mine.messages.filter(sender="agent").count() == 1

    note = agent_client.post(f"{url}/notes/", {"text": "VIP, be quick"}, format="json")
    assert note.status_code == 201
    assert [n["text"] for n in agent_client.get(f"{url}/notes/").json()["results"]] == ["VIP, be quick"]

    assert agent_client.post(f"{url}/handoff/transfer/", {}, format="json").status_code == 400
    moved = agent_client.post(f"{url}/handoff/transfer/", {"team": "billing", "note": "refund"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "queued"
    assert moved.json()["handoff"]["team"] == "billing"
    assert Handoff.objects.get(conversation=mine, status="queued").team.slug == "billing"


def test_resolve_and_hand_back_are_409_when_the_state_does_not_allow_them(manager_client, mine):
    url = f"/api/v1/conversations/{mine.pk}"
    assert manager_client.post(f"{url}/resolve/").status_code == 200
    again = manager_client.post(f"{url}/resolve/")
    assert again.status_code == 409 and "already resolved" in again.json()["detail"]
    back = manager_client.post(f"{url}/hand-back/")
    assert back.status_code == 409 and "already with the bot" in back.json()["detail"]
    reply = manager_client.post(f"{url}/messages/", {"text": "late"}, format="json")
    assert reply.status_code == 409


def test_only_managers_assign_to_someone_else(agent_client, billing_agent, mine):
    response = agent_client.post(
        f"/api/v1/conversations/{mine.pk}/handoff/assign/", {"agent": billing_agent.pk}, format="json"
    )
    assert response.status_code == 403


def test_a_manager_without_an_agent_profile_cannot_take_a_conversation(manager_client, mine):
    response = manager_client.post(f"/api/v1/conversations/{mine.pk}/handoff/assign/", {}, format="json")
    assert response.status_code == 409 and "Only agents" in response.json()["detail"]


def test_ratings_are_listed_for_visible_conversations(manager_client, mine):
    from handoff.services import handoff_resolve, rating_submit

    handoff_resolve(conversation=mine)
    rating_submit(conversation=mine, score=4, comment="quick")
    ratings = manager_client.get("/api/v1/ratings/").json()["results"]
    assert [(r["conversation"], r["score"]) for r in ratings] == [(mine.pk, 4)]
