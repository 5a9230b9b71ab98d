import pytest
from pytest_django.asserts import assertNumQueries as django_assert_num_queries

from agents.models import Agent, CannedResponse, InternalNote
from chat.models import Message
from handoff.models import Handoff

pytestmark = pytest.mark.django_db


def test_the_inbox_needs_a_signed_in_agent_or_manager(client, visitor):
    assert client.get("/inbox/").status_code == 302
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="random"))
    assert client.get("/inbox/").status_code == 403


def test_the_queue_shows_reason_priority_waiting_time_and_tier(client, agent, queued_conversation):
    client.force_login(agent.user)
    page = client.get("/inbox/").content.decode()
    assert "Ada Visitor" in page and "Visitor asked for a person" in page
    assert "priority 0" in page and "waiting" in page and "gold" in page


def test_the_inbox_page_runs_seven_queries_however_long_the_queue(client, agent, queued_conversation):
    from handoff.services import handoff_request
    from tests.factories import ConversationFactory

    for _ in range(5):
        handoff_request(conversation=ConversationFactory(), reason="more", team=queued_conversation.handoffs.get().team)
    client.force_login(agent.user)
    # 1 session, 2 user, 3 agent with its team ids (the teams from agents.hours' per-process cache,
    # warm after the requests above), 4 the main list's page (the "Mine" view, with customers, teams,
    # assignees, preview and unread as joins and subqueries), 5 the sidebar's queue with customers and
    # teams (one join), 6 its "mine" with the unread counts as a subquery, 7 every view's count (one
    # aggregate).
    with django_assert_num_queries(7):
        response = client.get("/inbox/")
    assert response.content.decode().count('class="item') == 6


def test_the_conversation_page_shows_the_bots_part_the_reason_and_the_customer(client, agent, queued_conversation):
    client.force_login(agent.user)
    page = client.get(f"/inbox/c/{queued_conversation.pk}/").content.decode()
    assert "Where is my order &lt;b&gt;1234&lt;/b&gt;?" in page, "chat text is escaped"
    assert "<b>1234</b>" not in page
    assert "Orders ship in 2 days." in page and "confidence 0.40" in page
    assert "Handed off: <strong>Visitor asked for a person</strong>" in page
    assert "The visitor asked:<br>1. “Where is my order" in page  # the summary
    assert "Accept" in page


def test_an_agent_of_another_team_gets_404(client, billing_agent, queued_conversation):
    client.force_login(billing_agent.user)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 404
    assert client.post(f"/inbox/c/{queued_conversation.pk}/accept/").status_code == 404
    assert client.post(f"/inbox/c/{queued_conversation.pk}/reply/", {"text": "hi"}).status_code == 404
    assert "Ada Visitor" not in client.get("/inbox/").content.decode()


def test_a_manager_sees_every_team(client, manager, queued_conversation):
    client.force_login(manager)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 200


def test_accept_reply_note_and_resolve(client, agent, queued_conversation):
    client.force_login(agent.user)
    base = f"/inbox/c/{queued_conversation.pk}"
    assert client.post(f"{base}/accept/", HTTP_HX_REQUEST="true").status_code == 204
    assert Handoff.objects.get(conversation=queued_conversation).agent == agent

    assert client.post(f"{base}/reply/", {"text": "Hi, I'm Dana"}, HTTP_HX_REQUEST="true").status_code == 204
    reply = queued_conversation.messages.get(sender=Message.Sender.AGENT)
    assert (reply.text, reply.author) == ("Hi, I'm Dana", agent.user)

    client.post(f"{base}/note/", {"text": "VIP, be nice"}, HTTP_HX_REQUEST="true")
    assert InternalNote.objects.get().text == "VIP, be nice"
    assert not queued_conversation.messages.filter(text__contains="VIP").exists(), "notes are not messages"

    assert client.post(f"{base}/resolve/").status_code == 302  # no JavaScript: back to the page
    queued_conversation.refresh_from_db()
    assert queued_conversation.status == "resolved"


def test_a_failed_action_explains_itself_in_the_flash_area(client, agent, queued_conversation):
    client.force_login(agent.user)
    base = f"/inbox/c/{queued_conversation.pk}"
    client.post(f"{base}/resolve/")
    response = client.post(f"{base}/reply/", {"text": "late"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#flash"
    assert "a person can reply once it is handed off" in response.content.decode()


def test_transfer_to_a_team_with_a_note(client, agent, billing_team, queued_conversation):
    client.force_login(agent.user)
    client.post(f"/inbox/c/{queued_conversation.pk}/accept/")
    client.post(f"/inbox/c/{queued_conversation.pk}/transfer/", {"target": f"team:{billing_team.pk}", "note": "refund"})
    handoff = Handoff.objects.get(conversation=queued_conversation)
    assert (handoff.team, handoff.status) == (billing_team, "queued")
    assert handoff.events.last().note == "refund"


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_the_availability_toggle_routes_waiting_conversations_at_once(client, agent, queued_conversation):
    client.force_login(agent.user)
    response = client.post("/inbox/status/", {"status": "online"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-status="online"' in response.content.decode()
    assert Handoff.objects.get(conversation=queued_conversation).agent == agent


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_going_offline_returns_conversations_to_the_queue(client, agent, queued_conversation):
    client.force_login(agent.user)
    client.post("/inbox/status/", {"status": "online"})
    assert Handoff.objects.get(conversation=queued_conversation).agent == agent
    client.post("/inbox/status/", {"status": "offline"})
    handoff = Handoff.objects.get(conversation=queued_conversation)
    assert (handoff.status, handoff.agent) == ("queued", None)
    assert Agent.objects.get(pk=agent.pk).status == "offline"


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_unread_counts_show_visitor_messages_after_the_agent_last_looked(client, agent, queued_conversation):
    from tests.factories import MessageFactory

    client.force_login(agent.user)
    client.post("/inbox/status/", {"status": "online"})
    client.get(f"/inbox/c/{queued_conversation.pk}/")  # reads it
    MessageFactory(conversation=queued_conversation, text="hello?")
    MessageFactory(conversation=queued_conversation, text="anyone?")
    page = client.get("/inbox/").content.decode()
    assert 'aria-label="2 unread"' in page and 'data-unread="2"' in page


def test_canned_responses_are_searchable(client, agent, support_team):
    CannedResponse.objects.create(title="Refund policy", shortcut="refund", text="Refunds take 5 days.")
    CannedResponse.objects.create(title="Other team", shortcut="x", text="hidden", team=None)
    client.force_login(agent.user)
    page = client.get("/inbox/canned/", {"q": "refund"}).content.decode()
    assert "Refund policy" in page and "Other team" not in page


def test_the_presence_sweep_makes_agents_without_a_tab_away(agent, settings):
    import datetime as dt

    from django.utils import timezone

    from handoff.tasks import presence_sweep

    settings.HANDOFF_PRESENCE_GRACE_SECONDS = 30
    stale = timezone.now() - dt.timedelta(minutes=5)
    Agent.objects.filter(pk=agent.pk).update(status="online", last_seen_at=stale)
    assert presence_sweep() == 1
    assert Agent.objects.get(pk=agent.pk).status == "away"


def test_canned_responses_fill_in_the_visitor_and_agent_for_the_conversation(client, agent, queued_conversation):
    CannedResponse.objects.create(title="Hello", shortcut="hi", text="Hi {{visitor.name}}, {{ agent.name }} here.")
    client.force_login(agent.user)
    page = client.get("/inbox/canned/", {"q": "hi", "conversation": queued_conversation.pk}).content.decode()
    assert 'data-text="Hi Ada Visitor, Dana here."' in page


def test_canned_search_is_only_for_conversations_the_agent_may_see(client, billing_agent, queued_conversation):
    client.force_login(billing_agent.user)
    assert client.get("/inbox/canned/", {"q": "hi", "conversation": queued_conversation.pk}).status_code == 404
    assert client.get("/inbox/canned/", {"q": "hi", "conversation": "x"}).status_code == 404


def test_canned_search_with_nul_bytes_or_a_huge_query_answers_normally(client, agent):
    CannedResponse.objects.create(title="Refund policy", shortcut="refund", text="Refunds take 5 days.")
    client.force_login(agent.user)
    assert "Refund policy" in client.get("/inbox/canned/", {"q": "ref\x00und"}).content.decode()
    assert client.get("/inbox/canned/", {"q": "é" * 100_000}).status_code == 200
