"""Issue 16 item 16: a Content-Security-Policy on the site's pages, under which the inbox, the admin
and the widget on the demo shop keep working, and an injected script does not run."""

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Widget, in_thread
from tests.e2e.test_handoff_flow import PASSWORD, sign_in, support_team
from tests.factories import AgentFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective));"""


def new_page(browser):
    page = browser.new_context().new_page()
    page.add_init_script(WATCH)  # on every document the page loads
    return page


def violations(page) -> list[str]:
    return page.evaluate("() => window.__violations")


def test_the_inbox_admin_and_widget_work_under_the_policy(browser, live_server_url):
    team = in_thread(support_team, open_all_week=True)
    in_thread(AgentFactory, user=UserFactory(username="dana", first_name="Dana"), teams=[team])
    in_thread(UserFactory, username="morgan", is_staff=True, is_superuser=True)

    visitor = new_page(browser)
    response = visitor.goto(live_server_url + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    widget = Widget(visitor)
    widget.open()
    widget.say("Do you ship to Norway?")  # the socket (connect-src) and the shadow root's styles
    assert violations(visitor) == []

    agent = new_page(browser)
    sign_in(agent, live_server_url, "dana")  # waits for the inbox socket to open
    agent.select_option("#status-select", "away")  # the one inline handler, allowed by its hash
    expect(agent.locator("#status-select")).to_have_value("away")
    assert violations(agent) == []

    manager = new_page(browser)
    manager.goto(live_server_url + "/admin/login/")
    manager.fill("input[name=username]", "morgan")
    manager.fill("input[name=password]", PASSWORD)
    manager.click("input[type=submit]")
    manager.goto(live_server_url + "/admin/knowledge/article/add/")
    expect(manager.locator("#article_form")).to_be_visible()
    assert violations(manager) == []

    # A script that slipped into a page is refused, not run.
    agent.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';
                  document.body.appendChild(s); }"""
    )
    assert agent.evaluate("() => window.pwned") is None
    assert violations(agent) == ["script-src-elem"]
