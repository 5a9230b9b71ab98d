"""The agent's working tools in the inbox, in a real browser against a real Daphne server.

Each test sets up its data through the services (in a thread: they broadcast after commit) and
drives the inbox as an agent would, by keyboard where the issue asks for it.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from agents.models import Agent, BusinessHours, CannedResponse
from handoff.models import Handoff
from handoff.services import handoff_assign, handoff_request
from tests.e2e.support import in_thread
from tests.factories import AgentFactory, ConversationFactory, MessageFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def open_team(slug: str, name: str):
    team = TeamFactory(name=name, slug=slug)
    for weekday in range(7):
        BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23, 59, 59))
    return team


def dana_with_ada():
    """Dana (support) holds Ada's conversation; a canned response with variables exists."""
    team = open_team("support", "Customer Support")
    dana = AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team])
    Agent.objects.filter(pk=dana.pk).update(status=Agent.Status.AWAY)
    conversation = ConversationFactory(customer__name="Ada Lovelace", customer__email="ada@example.com")
    MessageFactory(conversation=conversation, text="I want a refund for order 1234")
    handoff = handoff_request(conversation=conversation, reason="Visitor asked for a person", team=team)
    handoff_assign(handoff=handoff, agent=dana)
    CannedResponse.objects.create(
        title="Refund policy",
        shortcut="refund",
        text="Hi {{visitor.name}}, {{agent.name}} here: refunds reach your card in 5 days.",
    )
    return conversation.pk


def new_page(browser, viewport=None):
    context = browser.new_context(viewport=viewport or {"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def sign_in(page, base: str, username: str, then: str = "/inbox/") -> None:
    page.goto(base + then)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(then) + "$"))
    expect(page.locator("body[data-ws=open]")).to_have_count(1)


def test_canned_responses_keep_the_draft_and_slash_opens_the_picker_by_keyboard(browser, live_server_url):
    conversation_id = in_thread(dana_with_ada)
    page = new_page(browser)
    sign_in(page, live_server_url, "dana", then=f"/inbox/c/{conversation_id}/")
    reply = page.locator("#reply-text")

    # The search box beside the reply keeps the draft, and shows what it finds.
    reply.fill("Draft so far. ")
    search = page.get_by_label("Search canned responses")
    search.click()
    search.fill("refund")
    result = page.locator("#canned").get_by_role("option", name=re.compile("Refund policy"))
    expect(result).to_be_visible()
    expect(reply).to_have_value("Draft so far. ")
    expect(search).to_have_value("refund")
    result.click()
    expect(reply).to_have_value("Draft so far. Hi Ada Lovelace, Dana here: refunds reach your card in 5 days.")

    # `/` in the reply box: type to filter, arrows, Enter inserts at the cursor, Esc closes.
    reply.fill("")
    reply.press_sequentially("Hello! /ref")
    picker = page.get_by_role("listbox", name="Canned responses")
    expect(picker.get_by_role("option", name=re.compile("Refund policy"))).to_be_visible()
    reply.press("ArrowDown")
    reply.press("Enter")
    expect(reply).to_have_value("Hello! Hi Ada Lovelace, Dana here: refunds reach your card in 5 days.")
    expect(page.locator("#slash-picker")).to_be_hidden()

    reply.press_sequentially(" /zzz")
    expect(page.locator("#slash-picker")).to_contain_text("No canned responses")
    reply.press("Escape")
    expect(page.locator("#slash-picker")).to_be_hidden()
    expect(reply).to_be_focused()

    # Ctrl+Enter sends; the box is emptied only after the send succeeded.
    reply.fill("Sent by keyboard")
    reply.press("Control+Enter")
    expect(page.locator("#transcript .msg-agent")).to_contain_text("Sent by keyboard")
    expect(reply).to_have_value("")
    assert (
        Handoff.objects.get(conversation_id=conversation_id)
        .conversation.messages.filter(sender="agent", text="Sent by keyboard")
        .exists()
    )
