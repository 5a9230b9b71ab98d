"""A new request reaches an open inbox as its row alone (issue 12), in a real browser against Daphne:
htmx appends the row to the sidebar's queue, swaps in the counts, and the open list reloads itself."""

import re

import pytest
from playwright.sync_api import expect

from handoff.services import handoff_request
from inbox.context import SIDEBAR_QUEUE
from tests.e2e.support import in_thread
from tests.e2e.test_inbox_agent import new_page, open_team, sign_in
from tests.factories import AgentFactory, ConversationFactory, MessageFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def team_with_one_waiting():
    team = open_team("support", "Customer Support")
    AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team], status="away")
    ask(name="Ada Waiting")


def ask(*, name: str) -> None:
    conversation = ConversationFactory(customer__name=name)
    MessageFactory(conversation=conversation, text="Where is my parcel?")
    handoff_request(conversation=conversation, reason="Visitor asked for a person")


def test_a_new_request_is_added_at_the_end_of_the_queue_and_the_open_list_reloads(
    browser, live_server_url, redis_channel_layer
):
    in_thread(team_with_one_waiting)
    page = new_page(browser)
    sign_in(page, live_server_url, "dana", then="/inbox/?view=queue")
    rows = page.locator("#queue-list .item")
    expect(rows).to_have_count(1)

    in_thread(ask, name="Larry Live")

    expect(rows).to_have_count(2)
    expect(rows.last).to_contain_text("Larry Live")
    expect(rows.last.locator("a")).to_have_attribute("href", re.compile(r"^/inbox/c/\d+/$"))
    expect(page.locator("#queue-count")).to_have_text("2")
    expect(page.locator("#count-queue")).to_have_text("2")
    expect(page.locator("#conversation-list")).to_contain_text("Larry Live")  # hx-trigger="inbox-changed"


def team_with_a_full_sidebar():
    team = open_team("support", "Customer Support")
    AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team], status="away")
    for n in range(SIDEBAR_QUEUE + 1):
        ask(name=f"Waiting {n:02}")


def test_a_request_beyond_the_rows_the_sidebar_shows_updates_the_counts_and_the_more_line(
    browser, live_server_url, redis_channel_layer
):
    in_thread(team_with_a_full_sidebar)
    page = new_page(browser)
    sign_in(page, live_server_url, "dana", then="/inbox/?view=queue")
    rows = page.locator("#queue-list .item")
    expect(rows).to_have_count(SIDEBAR_QUEUE)
    expect(page.locator("#queue-more")).to_have_text("and 1 more waiting…")

    # The open list reloads itself (hx-trigger="inbox-changed"; Larry is on its second page).
    with page.expect_request(lambda request: "view=queue" in request.url):
        in_thread(ask, name="Larry Live")

    expect(page.locator("#queue-more")).to_have_text("and 2 more waiting…")
    expect(page.locator("#queue-count")).to_have_text(str(SIDEBAR_QUEUE + 2))
    expect(page.locator("#count-queue")).to_have_text(str(SIDEBAR_QUEUE + 2))
    expect(rows).to_have_count(SIDEBAR_QUEUE)
    expect(page.locator("#queue-list")).not_to_contain_text("Larry Live")
    page.screenshot(path="var/inbox-queue-more.png", full_page=True)
