"""The report page in Chromium with JavaScript off: the charts are drawn, labelled and readable."""

from pathlib import Path

import pytest
from django.conf import settings

from tests.reports.conftest import Story
from tests.reports.test_metrics import one_of_each_cohort

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def seed(story: Story) -> None:
    """A month of traffic: the cohorts, two teams with promises kept and broken, a rule with verdicts."""
    support, billing = story.team("Support"), story.team("Billing")
    dana, sam = story.agent("Dana", support), story.agent("Sam", billing)
    angry, vip = story.rule("Angry visitor"), story.rule("VIP customer")
    one_of_each_cohort(story)
    for day in range(28):
        for i in range(day % 5 + 3):
            started = day * 1440 + i * 97 + 30
            conversation = story.conversation(started=started)
            story.bot_answer(conversation)
            if i % 3:
                story.resolve(conversation, at=started - 8)
                story.rating(conversation, 3 + i % 3)
                continue
            rule, team, agent = (angry, support, dana) if i % 2 else (vip, billing, sam)
            story.firing(rule, conversation, decided=True, at=started - 2)
            wait = 2 + (i * 7 + day) % 17
            handoff = story.handoff(
                conversation, requested=started - 2, assigned=started - 2 - wait, replied=started - 3 - wait,
                ended=started - 20 - wait, rule=rule, team=team, agent=agent, promise=(600, 300, 1200),
                verdict=("needed", "bot_could_answer", "")[day % 3],
            )  # fmt: skip
            story.rating(conversation, 2 + (day + i) % 4, handoff=handoff)


def test_the_report_page_renders_its_charts_without_javascript(browser, live_server_url, manager):
    seed(Story())
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(live_server_url + "/admin/login/?next=/admin/")
    page.fill("input[name=username]", "morgan")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    page.click("a[href='/admin/reports/report/']")
    page.wait_for_url("**/admin/reports/report/")

    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for title in ("Conversations and automation rate by day", "Handoffs by trigger", "CSAT by cohort (1 to 5)"):
        chart = page.locator("svg.chart", has=page.locator(f"title:text-is('{title}')"))
        assert chart.count() == 1 and chart.bounding_box()["height"] > 100
    assert page.locator("svg.chart rect.bar").count() > 20  # a bar per day, a bar per trigger and cohort
    assert "Angry visitor" in page.locator("svg.chart").nth(1).text_content()
    assert page.locator("#table-promises td", has_text="All teams").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)
    page.screenshot(path=str(SCREENSHOTS / "reports-top.png"))  # the filters, the cards and the charts
    context.close()
