import datetime as dt

import pytest
from rest_framework.test import APIClient

from agents.models import BusinessHours
from api.models import ApiToken
from api.tokens import api_token_issue
from tests.factories import AgentFactory, TeamFactory, UserFactory

ALL_SCOPES = [ApiToken.Scope.READ, ApiToken.Scope.WRITE, ApiToken.Scope.CHANNEL]


def token_for(user, scopes=None, name="test") -> str:
    return api_token_issue(token=ApiToken(user=user, name=name, scopes=list(scopes or ALL_SCOPES)))


@pytest.fixture
def make_client(db):
    """An API client authenticated with a fresh token of `user` (all scopes unless told)."""

    def make(user, scopes=None) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user, scopes)}")
        return client

    return make


@pytest.fixture
def manager_client(make_client, manager):
    return make_client(manager)


@pytest.fixture
def agent_client(make_client, agent):
    return make_client(agent.user)


@pytest.fixture
def billing_team(db):
    return TeamFactory(name="Billing", slug="billing")


@pytest.fixture
def billing_agent(billing_team):
    """Bea, an agent of the billing team only."""
    return AgentFactory(user=UserFactory(username="bea", first_name="Bea"), teams=[billing_team])


@pytest.fixture
def always_open(support_team, billing_team):
    for team in (support_team, billing_team):
        for weekday in range(7):
            BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23, 59, 59))
