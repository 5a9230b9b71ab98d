import pytest

from agents.models import Agent
from tests.factories import AgentFactory, ConversationFactory, TeamFactory, UserFactory, team_open_all_week


@pytest.fixture
def open_team(db):
    """A team open around the clock, so tests do not depend on when they run."""
    return team_open_all_week(TeamFactory(name="Customer Support", slug="support"))


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
