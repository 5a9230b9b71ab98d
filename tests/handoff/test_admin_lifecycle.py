"""Admin cannot desync the lifecycle: handoffs are read-only there, and its actions are the services."""

import pytest
from django.urls import reverse

from chat.models import Conversation, Message
from handoff.models import Handoff, HandoffEvent
from handoff.services import handoff_assign, handoff_request
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:handoff_handoff_changelist")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def assigned(conversation, make_agent) -> Handoff:
    dana = make_agent("Dana", capacity=0)
    return handoff_assign(handoff=handoff_request(conversation=conversation, reason="Visitor asked"), agent=dana)


def act(admin_client, action: str, handoff: Handoff, **extra):
    return admin_client.post(
        LIST_URL, {"action": action, "_selected_action": [handoff.pk], "index": 0, **extra}, follow=True
    )


def test_status_agent_and_team_cannot_be_edited_and_no_handoff_is_added(admin_client, assigned):
    change_url = reverse("admin:handoff_handoff_change", args=[assigned.pk])
    form = admin_client.get(change_url).content.decode()
    for field in ("status", "agent", "team", "priority"):
        assert f'name="{field}"' not in form

    admin_client.post(change_url, {"status": "resolved", "agent": "", "team": ""})

    assigned.refresh_from_db()
    assert assigned.status == Handoff.Status.ASSIGNED and assigned.agent is not None
    assert admin_client.get(reverse("admin:handoff_handoff_add")).status_code == 403
    assert reverse("admin:handoff_handoff_add") not in admin_client.get(LIST_URL).content.decode()


def test_resolving_in_admin_is_the_agents_resolve(admin_client, assigned):
    page = act(admin_client, "resolve", assigned).content.decode()

    assert "Resolved 1 conversation." in page
    assigned.refresh_from_db()
    assert assigned.status == Handoff.Status.RESOLVED and assigned.ended_at is not None
    conversation = Conversation.objects.get(pk=assigned.conversation_id)
    assert (conversation.status, conversation.assignee) == (Conversation.Status.RESOLVED, None)
    assert conversation.messages.filter(sender=Message.Sender.SYSTEM, metadata__kind="csat_request").exists()
    event = assigned.events.get(action=HandoffEvent.Action.RESOLVE)
    assert event.reason == "Resolved in admin" and event.actor.username == "morgan"


def test_admin_returns_to_the_queue_and_transfers_through_the_services(admin_client, assigned):
    act(admin_client, "return_to_queue", assigned)
    assigned.refresh_from_db()
    assert (assigned.status, assigned.agent) == (Handoff.Status.QUEUED, None)
    assert Conversation.objects.get(pk=assigned.conversation_id).status == Conversation.Status.QUEUED

    billing = TeamFactory(name="Billing", slug="billing")
    act(admin_client, "transfer_to_team", assigned, team=billing.pk)
    assigned.refresh_from_db()
    assert assigned.team == billing
    assert Conversation.objects.get(pk=assigned.conversation_id).team == billing
    assert assigned.events.filter(action=HandoffEvent.Action.TRANSFER).exists()


def test_an_action_on_a_handoff_that_is_over_changes_nothing_and_says_so(admin_client, assigned):
    act(admin_client, "resolve", assigned)
    page = act(admin_client, "resolve", assigned).content.decode()
    assert "1 already over, left as they were." in page
    assert assigned.events.filter(action=HandoffEvent.Action.RESOLVE).count() == 1
