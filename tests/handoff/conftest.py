import datetime as dt

import pytest

from agents.models import Agent, BusinessHours
from tests.factories import AgentFactory, ConversationFactory, TeamFactory, UserFactory


@pytest.fixture
def open_team(db):
    """A team open around the clock, so tests do not depend on when they run."""
    team = TeamFactory(name="Customer Support", slug="support")
    for weekday in range(7):
        BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23, 59, 59))
    return team


@pytest.fixture
def make_agent(open_team):
    def make(name: str, *, status=Agent.Status.ONLINE, capacity: int = 2, teams=None) -> Agent:
        return AgentFactory(
            user=UserFactory(username=name.lower(), first_name=name),
            status=status,
            max_concurrent=capacity,
            teams=teams if teams is not None else [open_team],
        )

    return make


@pytest.fixture
def conversation(db):
    return ConversationFactory()
