"""GET /api/v1/reports/: the report page's numbers for managers' tokens, refused to agents' tokens."""

import pytest

from api.models import ApiToken
from tests.reports.conftest import Story
from tests.reports.test_metrics import one_of_each_cohort

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/"


def test_a_managers_token_reads_the_same_numbers_as_the_page(manager_client, manager, client):
    one_of_each_cohort(Story())

    data = manager_client.get(URL, {"days": "30"}).json()

    assert data["outcomes"]["by_cohort"]["bot_only"] == 2
    assert data["outcomes"]["automation_rate"] == 0.2
    assert data["previous"]["conversations"] == 1  # the one started 40 days ago
    client.force_login(manager)
    page = client.get("/admin/reports/report/", {"days": "30", "compare": "on", "export": "json"}).json()
    assert page["outcomes"] == data["outcomes"]


def test_an_agents_token_and_a_token_without_read_are_refused(agent_client, make_client, manager):
    assert agent_client.get(URL).status_code == 403  # the page is for managers; so is its API
    assert make_client(manager, scopes=[ApiToken.Scope.CHANNEL]).get(URL).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"days": "365"},
        {"days": "custom"},
        {"days": "custom", "start": "0001-01-01", "end": "0001-01-02"},
        {"days": "custom", "start": "2026-01-01", "end": "9999-12-31"},
        {"team": "99999999999999999999999"},
        {"team": "\x00"},
        {"cost_per_enquiry": "NaN"},
        {"monthly_volume": "-1"},
    ],
)
def test_bad_parameters_are_a_clear_400(manager_client, query):
    response = manager_client.get(URL, query)
    assert response.status_code == 400, response.content
    assert response.json()
