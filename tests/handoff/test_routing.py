import pytest

from agents.models import Agent
from handoff.models import Handoff
from handoff.routing import routing_assign_waiting
from handoff.services import handoff_request
from tests.factories import ConversationFactory, TeamFactory

pytestmark = pytest.mark.django_db


def request(team=None, priority=0) -> Handoff:
    return handoff_request(conversation=ConversationFactory(), reason="test", team=team, priority=priority)


def test_routing_gives_the_least_loaded_online_agent_and_respects_capacity(open_team, make_agent):
    dana = make_agent("Dana", capacity=2)
    sam = make_agent("Sam", capacity=1)
    make_agent("Alex", status=Agent.Status.AWAY)

    handoffs = [request() for _ in range(4)]
    for handoff in handoffs:
        handoff.refresh_from_db()

    assigned_to = [h.agent.public_name if h.agent else None for h in handoffs]
    assert assigned_to.count("Dana") == 2 and assigned_to.count("Sam") == 1
    assert assigned_to[3] is None, "nobody has a free slot for the fourth"
    assert "Alex" not in assigned_to, "away agents get nothing"
    assert {dana, sam} == {h.agent for h in handoffs[:3]}


def test_ties_in_load_go_round_robin(open_team, make_agent):
    make_agent("Dana", capacity=5)
    make_agent("Sam", capacity=5)
    order = []
    for _ in range(4):
        handoff = request()
        handoff.refresh_from_db()
        order.append(handoff.agent.public_name)
    assert order[0] != order[1] and order[2] != order[3]


def test_vip_priority_goes_first_then_the_longest_waiting(open_team, make_agent):
    first, second = request(priority=0), request(priority=0)
    vip = request(priority=10)
    dana = make_agent("Dana", capacity=1)
    assigned = routing_assign_waiting(team=open_team)
    assert [h.pk for h in assigned] == [vip.pk]
    Agent.objects.filter(pk=dana.pk).update(max_concurrent=3)
    assert [h.pk for h in routing_assign_waiting(team=open_team)] == [first.pk, second.pk]


def test_routing_stays_within_the_team(open_team, make_agent):
    billing = TeamFactory(name="Billing", slug="billing")
    make_agent("Dana")  # support only
    handoff = request(team=billing)
    handoff.refresh_from_db()
    assert handoff.agent is None and handoff.status == "queued"
    make_agent("Bea", teams=[billing])
    assert [h.pk for h in routing_assign_waiting(team=billing)] == [handoff.pk]
