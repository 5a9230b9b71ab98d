import threading

import pytest
from django.db import connection, transaction

from agents.models import Agent
from handoff.models import Handoff
from handoff.selectors import routing_next
from handoff.services import handoff_request, routing_assign_waiting
from tests.factories import ConversationFactory, TeamFactory

pytestmark = pytest.mark.django_db


def request(team=None, priority=0) -> Handoff:
    return handoff_request(conversation=ConversationFactory(), reason="test", team=team, priority=priority)


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
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


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
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


@pytest.mark.django_db(transaction=True)
def test_two_routers_at_once_each_take_a_different_waiting_handoff(open_team, make_agent):
    """routing_next locks the handoff it picks with skip_locked: a second router passes it by."""
    first, second = request(), request()
    make_agent("Dana")
    picked, taken = threading.Event(), threading.Event()
    seen = {}

    def router() -> None:
        try:
            with transaction.atomic():
                seen["a"] = routing_next(team=open_team)[0].pk
                picked.set()
                taken.wait(10)  # hold the row lock while the other router looks
        finally:
            connection.close()

    thread = threading.Thread(target=router)
    thread.start()
    assert picked.wait(10)
    with transaction.atomic():
        seen["b"] = routing_next(team=open_team)[0].pk
    taken.set()
    thread.join(10)
    assert (seen["a"], seen["b"]) == (first.pk, second.pk)


def test_there_is_no_next_pair_without_a_free_agent(open_team, make_agent):
    request()
    make_agent("Sam", status=Agent.Status.AWAY)
    assert routing_next(team=open_team) is None
