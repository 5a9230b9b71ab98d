"""The report page in admin: managers only, every section rendered from the same numbers, exports."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from handoff.models import Handoff
from tests.reports.conftest import NOW
from tests.reports.test_metrics import one_of_each_cohort

URL = "/admin/reports/report/"


@pytest.fixture
def seeded(story):
    conversations = one_of_each_cohort(story)
    rule = story.rule("Angry <b>visitor</b>")
    conversation = story.conversation(started=200)
    story.firing(rule, conversation, decided=True)
    story.handoff(conversation, requested=100, assigned=90, replied=88, ended=60, rule=rule, verdict="needed",
                  promise=(600, 300, 1200), team=story.team("Support"))  # fmt: skip
    story.rating(conversations["bot_only"], 5)
    return conversations


def test_the_admin_index_links_reports_for_managers(client, manager):
    client.force_login(manager)
    page = client.get("/admin/").content.decode()
    assert f'href="{URL}"' in page and ">Reports<" in page


def test_staff_without_the_manager_permission_cannot_read_the_reports(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="intern", is_staff=True))
    assert client.get(URL).status_code == 403
    assert URL not in client.get("/admin/").content.decode()


def test_the_page_shows_charts_tables_roi_and_definitions(client, manager, seeded):
    client.force_login(manager)
    page = client.get(URL).content.decode()

    assert page.count('<svg class="chart"') == 4
    titles = ("Conversations and automation rate by day", "Handoffs by trigger", "by hour of day", "CSAT by cohort")
    assert all(title in page for title in titles)
    assert "<td>Bot only, resolved</td><td>2</td>" in page
    assert "Angry &lt;b&gt;visitor&lt;/b&gt;" in page and "<b>visitor</b>" not in page  # escaped in table and chart
    assert "Is the wait promise right?" in page and "Per agent" in page and "ROI" in page
    assert "(money saved - assistant cost) / assistant cost" in page
    assert "this is containment" in page
    assert "before:" in page  # the comparison with the previous period is on by default


def test_the_period_and_team_filters_and_bad_input_never_fail(client, manager, seeded):
    client.force_login(manager)
    team = Handoff.objects.exclude(team=None).first().team
    assert client.get(URL, {"days": "7", "team": team.pk, "compare": "on"}).status_code == 200
    custom = client.get(URL, {"days": "custom", "start": (NOW.date()).isoformat(), "end": NOW.date().isoformat()})
    assert custom.status_code == 200
    for bad in (
        {"days": "custom", "start": "2026-13-01", "end": "x"},
        {"days": "custom", "start": "2026-05-02", "end": "2026-05-01"},
        {"days": "\x00", "team": "99999", "cost_per_enquiry": "-1", "monthly_volume": "1e999"},
        {"days": "custom", "start": "2000-01-01", "end": "2026-01-01"},
    ):
        response = client.get(URL, bad)
        assert response.status_code == 200
        assert 'class="errorlist' in response.content.decode()


def test_roi_inputs_change_the_money(client, manager, seeded):
    client.force_login(manager)
    data = client.get(URL, {"days": "30", "cost_per_enquiry": "10", "export": "json"}).json()
    assert data["roi"]["bot_resolved"] == 2
    assert data["roi"]["money_saved"] == "20.00"


def test_every_table_exports_as_csv_with_raw_values(client, manager, seeded):
    client.force_login(manager)
    response = client.get(URL, {"export": "cohorts"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["Cohort", "Conversations", "Share"]
    assert rows[1][:3] == ["Bot only, resolved", "2", "0.1818"]  # 2 of 11 finished
    for name in ("abandoned", "times", "triggers", "promises", "agents", "teams", "daily", "hours"):
        assert client.get(URL, {"export": name}).status_code == 200
    assert client.get(URL, {"export": "nope"}).status_code == 400


@pytest.mark.parametrize(
    "table, reads",
    [("hours", {"handoff_handoff": 1}), ("agents", {"handoff_handoff": 1}), ("cohorts", {"chat_conversation": 2})],
)
def test_a_tables_csv_reads_only_what_that_table_shows(client, manager, seeded, table, reads):
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, {"export": table}).status_code == 200
    report_tables = ("chat_conversation", "handoff_handoff", "triggers_triggerfiring")
    read = {name: sum(f'FROM "{name}"' in q["sql"] for q in queries.captured_queries) for name in report_tables}
    assert read == {name: reads.get(name, 0) for name in report_tables}


def test_the_json_has_the_same_numbers_as_the_page(client, manager, seeded):
    client.force_login(manager)
    data = json.loads(client.get(URL, {"export": "json"}).content)
    assert data["outcomes"]["by_cohort"]["bot_only"] == 2
    assert data["headline"]["conversations"] == 12
    angry = next(row for row in data["triggers"] if row["label"].startswith("Angry"))
    assert (angry["handoffs"], angry["precision"]) == (1, 1.0)
    assert data["period"]["team"] is None


def test_a_trigger_row_links_to_the_handoffs_behind_it(client, manager, seeded):
    client.force_login(manager)
    rule_id = Handoff.objects.exclude(trigger={}).get().trigger["rule_id"]
    page = client.get(URL).content.decode()
    assert f"/admin/handoff/handoff/?trigger_rule={rule_id}&amp;verdict=needed" in page
    listing = client.get("/admin/handoff/handoff/", {"trigger_rule": rule_id, "verdict": "needed"})
    assert listing.status_code == 200 and "1 handoff" in listing.content.decode()
