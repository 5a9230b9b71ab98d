"""The inbox's views, filters, search and counts, permission-filtered like every inbox page."""

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from pytest_django.asserts import assertNumQueries

from chat.models import Conversation
from handoff.services import handoff_assign, handoff_request, handoff_resolve
from tests.factories import AgentFactory, ConversationFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


def listed(client, **params) -> list[int]:
    page = client.get("/inbox/", params, HTTP_HX_REQUEST="true").content.decode()
    return [int(pk) for pk in re.findall(r'class="row[^"]*" data-conversation="(\d+)"', page)]


@pytest.fixture
def desk(agent, support_team, billing_team, always_open):
    """One conversation in each place an agent of support (Dana) might look, and one of billing's."""
    sam = AgentFactory(user=UserFactory(username="sam", first_name="Sam"), teams=[support_team])

    def handed(name: str, team, text: str = "Hello there", **customer):
        conversation = ConversationFactory(customer__name=name, **{f"customer__{k}": v for k, v in customer.items()})
        MessageFactory(conversation=conversation, text=text)
        return conversation, handoff_request(conversation=conversation, reason="asked", team=team)

    queued, _ = handed("Quinn Queued", support_team, "My refunds never arrived", email="quinn@example.com")
    mine, handoff = handed("Mia Mine", support_team)
    handoff_assign(handoff=handoff, agent=agent)
    sams, handoff = handed("Sid Sams", support_team)
    handoff_assign(handoff=handoff, agent=sam)
    snoozed, handoff = handed("Sue Snoozed", support_team)
    handoff_assign(handoff=handoff, agent=agent)
    Conversation.objects.filter(pk=snoozed.pk).update(snoozed_at=timezone.now())
    resolved, _ = handed("Rex Resolved", support_team, "Where is my parcel")
    handoff_resolve(conversation=resolved)
    bot = ConversationFactory(customer__name="Bo Bot")
    MessageFactory(conversation=bot, text="Just browsing")
    billing, _ = handed("Bill Billing", billing_team, "Refund please")
    return {k: v.pk for k, v in locals().items() if isinstance(v, Conversation)}


def test_each_view_lists_what_its_name_says(client, agent, desk):
    client.force_login(agent.user)
    assert listed(client, view="mine") == [desk["mine"]]
    assert listed(client, view="queue") == [desk["queued"]]
    assert set(listed(client, view="teams")) == {desk["queued"], desk["mine"], desk["sams"]}
    assert listed(client, view="bot") == [desk["bot"]]
    assert listed(client, view="snoozed") == [desk["snoozed"]]
    assert listed(client, view="resolved") == [desk["resolved"]]


def test_an_agent_of_another_team_sees_none_of_it_and_a_manager_sees_all(client, billing_agent, manager, desk):
    client.force_login(billing_agent.user)
    seen = {pk for view in ("queue", "teams", "bot", "snoozed", "resolved") for pk in listed(client, view=view)}
    assert seen == {desk["billing"]}, "billing is not the default team: no never-handed-off bot conversations"
    assert listed(client, q="refund") == [desk["billing"]]

    client.force_login(manager)
    assert set(listed(client, view="teams")) == {desk["queued"], desk["mine"], desk["sams"], desk["billing"]}


def test_every_view_shows_its_count_in_the_sidebar(client, agent, desk):
    client.force_login(agent.user)
    page = client.get("/inbox/").content.decode()
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', page))
    assert counts == {"mine": "1", "queue": "1", "teams": "3", "bot": "1", "snoozed": "1", "resolved": "1"}


def test_filters_by_team_status_tag_priority_waiting_and_channel(client, agent, support_team, desk):
    Conversation.objects.filter(pk=desk["sams"]).update(tags=["vip", "refund"], priority=2, channel="api")
    Conversation.objects.filter(pk=desk["queued"]).update(waiting_since=timezone.now() - dt.timedelta(minutes=20))
    client.force_login(agent.user)
    assert listed(client, view="teams", tag="vip") == [desk["sams"]]
    assert listed(client, view="teams", priority="2") == [desk["sams"]]
    assert listed(client, view="teams", channel="api") == [desk["sams"]]
    assert listed(client, view="teams", waiting="15") == [desk["queued"]]
    assert listed(client, view="teams", status="queued") == [desk["queued"]]
    assert len(listed(client, view="teams", team=support_team.pk)) == 3
    assert len(listed(client, view="teams", priority="x", channel="fax", status="nope")) == 3, "bad values: no filter"


def test_search_finds_a_word_in_any_message_or_the_visitors_name_or_email(client, agent, desk):
    client.force_login(agent.user)
    assert listed(client, q="refund") == [desk["queued"]]  # "refunds" in a message, stemmed
    assert listed(client, q="parcel") == [desk["resolved"]]  # searches resolved ones too
    assert listed(client, q="quinn@example") == [desk["queued"]]
    assert listed(client, q="Mia") == [desk["mine"]]
    assert listed(client, q="nothing-like-it") == []


@pytest.mark.parametrize(
    "query",
    [
        "ref\x00und",
        "x" * 5000,
        "'\"<script>&|!:*()",
        "\U0001d52f\U0001d522\U0001d523 🤷",
        "-",
        "or and not",
        "%ED%A0%80%FF",
    ],
)
def test_odd_searches_answer_with_results_or_a_message_never_a_500(client, agent, desk, query):
    client.force_login(agent.user)
    # The last one is a lone surrogate and a stray byte, sent as raw percent-escapes.
    raw = query if query.startswith("%") else urlencode({"q": query})[2:]
    response = client.get(f"/inbox/?q={raw}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>" not in page
    if len(query) > 200:
        assert "Searched for the first 200 characters only." in page


def test_a_page_of_a_list_is_four_queries_however_many_conversations(client, agent, desk):
    client.force_login(agent.user)
    listed(client, view="teams")  # warm up the session (and the per-process cache of the teams)
    # 1 session, 2 user, 3 agent with its team ids (the teams from agents.hours' cache), 4 the page:
    # conversations with customer, team and assignee joined, the last message's preview and the unread
    # count as subqueries.
    with assertNumQueries(4):
        listed(client, view="teams", q="hello")
    with assertNumQueries(4):
        assert len(listed(client, view="teams")) == 3


def test_the_old_history_list_is_the_resolved_view(client, agent):
    client.force_login(agent.user)
    response = client.get("/inbox/history/")
    assert (response.status_code, response["Location"]) == (301, "/inbox/?view=resolved")


def test_unread_marks_show_on_open_conversations_not_resolved_ones(client, agent, desk):
    client.force_login(agent.user)
    page = client.get("/inbox/", {"view": "teams"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'aria-label="1 unread"' in page  # nobody opened the waiting ones yet
    resolved = client.get("/inbox/", {"view": "resolved"}, HTTP_HX_REQUEST="true").content.decode()
    assert "unread" not in resolved
