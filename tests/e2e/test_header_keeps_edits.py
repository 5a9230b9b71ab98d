"""A push that re-renders the conversation's header (someone else tags it, its state changes) must not
undo what the agent is doing there: CI once snoozed a conversation for an hour instead of "until the
visitor replies" because the header was swapped between choosing and pressing Snooze."""

import pytest
from playwright.sync_api import expect

from inbox.triage import conversation_tags_change
from tests.e2e.support import in_thread
from tests.e2e.test_composer_follows_state import danas_conversation, open_as_dana

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_header_pushed_while_the_agent_works_in_it_keeps_their_choices(browser, live_server_url, redis_channel_layer):
    conversation = in_thread(danas_conversation)
    page = open_as_dana(browser, live_server_url, conversation)
    header = page.locator("#conversation-header")
    header.locator("#snooze-for").select_option("reply")
    header.locator("details.transfer summary").click()
    header.locator("#transfer-note").fill("Wants a refund")
    header.get_by_label("Add a tag").fill("vi")

    in_thread(conversation_tags_change, conversation=conversation, add=["billing"])  # another agent, elsewhere

    expect(header.locator(".tag")).to_contain_text("billing")  # the header was swapped
    expect(header.locator("#snooze-for")).to_have_value("reply")
    expect(header.locator("details.transfer")).to_have_attribute("open", "")
    expect(header.locator("#transfer-note")).to_have_value("Wants a refund")
    expect(header.get_by_label("Add a tag")).to_have_value("vi")
    header.locator("#snooze-button").click()
    expect(page.locator("#snooze-state")).to_have_text("Snoozed until the visitor replies")
