"""After Resolve the agent's composer is disabled live, not only after a reload (issue 15 item 12),
whether Dana resolves it herself or it is resolved elsewhere (a manager in admin, another tab)."""

import pytest
from playwright.sync_api import expect

from chat.models import Conversation
from handoff.services import handoff_assign, handoff_request, handoff_resolve
from tests.e2e.support import in_thread
from tests.factories import AgentFactory, ConversationFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def danas_conversation() -> Conversation:
    team = TeamFactory(name="Customer Support", slug="support")
    dana = AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team], max_concurrent=0)
    conversation = ConversationFactory(customer__name="Ada")
    handoff_assign(handoff=handoff_request(conversation=conversation, reason="Visitor asked", team=team), agent=dana)
    return conversation


def open_as_dana(browser, base: str, conversation: Conversation):
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    page.goto(base + "/inbox/")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url("**/inbox/")
    page.goto(f"{base}/inbox/c/{conversation.pk}/")
    expect(page.locator("body[data-ws=open]")).to_have_count(1)
    return page


def test_resolving_disables_the_composer_at_once(browser, live_server_url):
    page = open_as_dana(browser, live_server_url, in_thread(danas_conversation))
    reply = page.locator("#reply-text")
    expect(reply).to_be_enabled()

    page.get_by_role("button", name="Resolve").click()

    expect(page.locator("#conversation-status")).to_have_text("Resolved")
    expect(reply).to_be_disabled()
    expect(page.locator("#reply-form").get_by_role("button", name="Send")).to_be_disabled()


def test_resolved_elsewhere_the_composer_follows_and_keeps_the_draft(browser, live_server_url, redis_channel_layer):
    conversation = in_thread(danas_conversation)
    page = open_as_dana(browser, live_server_url, conversation)
    reply = page.locator("#reply-text")
    reply.fill("Half-written answer")

    in_thread(handoff_resolve, conversation=conversation, reason="Resolved in admin")

    expect(reply).to_be_disabled()
    expect(reply).to_have_value("Half-written answer")  # disabled, not wiped
