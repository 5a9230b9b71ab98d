import pytest

from agents.models import Agent
from handoff.services import handoff_request
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    MessageFactory,
    TeamFactory,
    UserFactory,
    team_open_all_week,
)


@pytest.fixture
def billing_team(db):
    return TeamFactory(name="Billing", slug="billing")


@pytest.fixture
def always_open(support_team, billing_team):
    for team in (support_team, billing_team):
        team_open_all_week(team)


@pytest.fixture
def billing_agent(billing_team):
    """Bea, an agent of the billing team only."""
    return AgentFactory(user=UserFactory(username="bea", first_name="Bea"), teams=[billing_team])


@pytest.fixture
def queued_conversation(support_team, always_open):
    """A visitor who talked to the bot, then asked for a person; nobody is online, so it waits."""
    conversation = ConversationFactory(customer__name="Ada Visitor", customer__attributes={"tier": "gold"})
    MessageFactory(conversation=conversation, text="Where is my order <b>1234</b>?")
    MessageFactory(conversation=conversation, sender="bot", text="Orders ship in 2 days.", metadata={"confidence": 0.4})
    handoff_request(conversation=conversation, reason="Visitor asked for a person", team=support_team)
    return conversation


@pytest.fixture
def online(agent):
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.ONLINE)
    agent.refresh_from_db()
    return agent
