"""Issue 16 item 5: access follows the open handoff's team, not the conversation's history.

A Billing-only agent read, accepted, replied to and resolved a conversation queued for Support
because it had once been with Billing. Now the team a conversation is with (Conversation.team,
mirrored from its open handoff) decides, in every view and in every service that acts.
"""

import pytest

from agents.services import AgentError
from handoff.models import Handoff
from handoff.services import (
    HandoffError,
    handoff_assign,
    handoff_hand_back,
    handoff_request,
    handoff_resolve,
    handoff_return_to_queue,
    handoff_transfer,
)
from inbox.services import agent_reply, note_add
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def once_billing_now_support(support_team, billing_team, always_open):
    """Was with Billing (resolved), came back and now waits for Support."""
    conversation = ConversationFactory(customer__name="Ada Visitor")
    MessageFactory(conversation=conversation, text="My invoice is wrong")
    handoff_request(conversation=conversation, reason="Billing question", team=billing_team)
    handoff_resolve(conversation=conversation)
    MessageFactory(conversation=conversation, text="Now the app crashes")
    handoff_request(conversation=conversation, reason="Technical problem", team=support_team)
    return conversation


def test_an_earlier_handoff_to_my_team_opens_nothing_in_the_inbox(client, billing_agent, once_billing_now_support):
    client.force_login(billing_agent.user)
    base = f"/inbox/c/{once_billing_now_support.pk}"
    assert client.get(f"{base}/").status_code == 404
    for action in ("accept", "reply", "note", "resolve", "hand-back", "transfer"):
        assert client.post(f"{base}/{action}/", {"text": "hi", "target": "team:1"}).status_code == 404, action
    assert "Ada Visitor" not in client.get("/inbox/").content.decode()
    assert "Ada Visitor" not in client.get("/inbox/?view=resolved").content.decode()
    assert Handoff.objects.get(status="queued").agent is None


def test_every_acting_service_checks_the_team(billing_agent, agent, manager, once_billing_now_support):
    conversation = once_billing_now_support
    handoff = Handoff.objects.get(status="queued")
    bea = billing_agent.user
    with pytest.raises(HandoffError, match="is with the Customer Support team, and you are not on it"):
        handoff_assign(handoff=handoff, agent=billing_agent, actor=bea)
    # Not even a manager can put it with an agent outside the team it waits for: that is a transfer.
    with pytest.raises(HandoffError, match=r"Bea is not on the Customer Support team .* transfer it to them instead"):
        handoff_assign(handoff=handoff, agent=billing_agent, actor=manager)
    with pytest.raises(HandoffError, match="is with the Customer Support team, and you are not on it"):
        agent_reply(agent_user=bea, conversation=conversation, text="Hello from billing")
    with pytest.raises(AgentError, match="you are not on it"):
        note_add(author=bea, conversation=conversation, text="psst")
    with pytest.raises(HandoffError, match="you are not on it"):
        handoff_transfer(handoff=handoff, to_agent=billing_agent, actor=bea)
    with pytest.raises(HandoffError, match="you are not on it"):
        handoff_resolve(conversation=conversation, actor=bea)
    with pytest.raises(HandoffError, match="you are not on it"):
        handoff_hand_back(conversation=conversation, actor=bea)
    handoff_assign(handoff=handoff, agent=agent, actor=agent.user)  # Dana is on Support
    with pytest.raises(HandoffError, match="you are not on it"):
        handoff_return_to_queue(handoff=handoff, reason="not mine", actor=bea)
    assert not conversation.messages.filter(text="Hello from billing").exists()
    assert not conversation.internal_notes.exists()


def test_a_conversation_transferred_away_leaves_the_old_teams_inbox(client, agent, billing_team, queued_conversation):
    handoff = Handoff.objects.get(conversation=queued_conversation)
    handoff_assign(handoff=handoff, agent=agent, actor=agent.user)
    client.force_login(agent.user)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 200
    handoff_transfer(handoff=handoff, to_team=billing_team, actor=agent.user)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 404
    with pytest.raises(AgentError, match="is with the Billing team"):
        note_add(author=agent.user, conversation=queued_conversation, text="one more thing")


def test_a_resolved_conversation_stays_readable_by_its_last_team_but_takes_no_replies(
    client, agent, billing_agent, queued_conversation
):
    handoff_resolve(conversation=queued_conversation, actor=agent.user)
    client.force_login(agent.user)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 200
    response = client.post(f"/inbox/c/{queued_conversation.pk}/reply/", {"text": "hi"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "resolved" in response.content.decode()
    client.force_login(billing_agent.user)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 404


def test_the_api_follows_the_same_rule(billing_agent, once_billing_now_support):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(billing_agent.user)
    assert api.get(f"/api/v1/conversations/{once_billing_now_support.pk}/").status_code == 404
    listed = api.get("/api/v1/conversations/").json()["results"]
    assert once_billing_now_support.pk not in [row["id"] for row in listed]


def test_a_conversation_only_the_bot_had_is_the_default_teams_to_watch(client, agent, billing_agent):
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation, text="hello bot")
    client.force_login(agent.user)  # Dana is on Support, the default team
    assert client.get(f"/inbox/c/{conversation.pk}/").status_code == 200
    client.force_login(billing_agent.user)
    assert client.get(f"/inbox/c/{conversation.pk}/").status_code == 404
