"""The agent's working tools in the inbox, in a real browser against a real Daphne server.

Each test sets up its data through the services (in a thread: they broadcast after commit) and
drives the inbox as an agent would, by keyboard where the issue asks for it.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from agents.models import Agent, CannedResponse
from chat.models import Conversation
from handoff.models import Handoff
from handoff.services import handoff_assign, handoff_request, handoff_resolve
from tests.e2e.support import in_thread
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    MessageFactory,
    TeamFactory,
    UserFactory,
    team_open_all_week,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def open_team(slug: str, name: str):
    return team_open_all_week(TeamFactory(name=name, slug=slug))


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
    picker = page.locator("#slash-picker").get_by_role("listbox", name="Canned responses")
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


SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"  # looked at by a person after the run


def a_working_day():
    """Dana and Sam on support; Ada (Dana's, with an old resolved conversation), Quinn waiting,
    Bo chatting with the bot right now."""
    team = open_team("support", "Customer Support")
    dana = AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team], max_concurrent=5)
    sam = AgentFactory(user=UserFactory(username="sam", first_name="Sam"), teams=[team])
    Agent.objects.filter(pk__in=[dana.pk, sam.pk]).update(status=Agent.Status.AWAY)
    CannedResponse.objects.create(
        title="Refund policy", shortcut="refund", text="Hi {{visitor.name}}, refunds reach your card in 5 days."
    )
    ada = CustomerFactory(name="Ada Lovelace", email="ada@example.com")
    old = ConversationFactory(customer=ada)
    MessageFactory(conversation=old, text="My umbrella arrived broken")
    handoff = handoff_request(conversation=old, reason="Broken item", team=team)
    handoff_assign(handoff=handoff, agent=dana)
    handoff_resolve(conversation=old)
    current = ConversationFactory(customer=ada)
    MessageFactory(conversation=current, text="I want a refund for order 1234")
    handoff_assign(
        handoff=handoff_request(conversation=current, reason="Visitor asked for a person", team=team), agent=dana
    )
    quinn = ConversationFactory(customer__name="Quinn Waiting")
    MessageFactory(conversation=quinn, text="Is anyone there?")
    handoff_request(conversation=quinn, reason="Visitor asked for a person", team=team)
    bo = ConversationFactory(customer__name="Bo Browser")
    MessageFactory(conversation=bo, text="Do you ship to Norway?")
    MessageFactory(conversation=bo, sender="bot", text="We ship to the EU in 4-7 working days.")
    return {"old": old.pk, "current": current.pk, "quinn": quinn.pk, "bo": bo.pk, "sam": sam.pk}


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def test_an_agents_day_by_keyboard_in_two_browsers(browser, live_server_url, redis_channel_layer):
    ids = in_thread(a_working_day)
    dana = new_page(browser)
    sam = new_page(browser, viewport={"width": 390, "height": 844})
    sign_in(dana, live_server_url, "dana")
    sign_in(sam, live_server_url, "sam")

    # Mine: j focuses the first conversation, Enter opens it in the main pane (no page load).
    dana.evaluate("window.sameDocument = true")
    dana.keyboard.press("j")
    dana.keyboard.press("Enter")
    dana.wait_for_url(f"**/inbox/c/{ids['current']}/")
    expect(dana.locator("#conversation-header h1")).to_have_text("Ada Lovelace")
    assert dana.evaluate("window.sameDocument === true"), "htmx swapped the pane; the page did not reload"

    # r, a draft, `/ref` + arrows + Enter: the draft stays, the response lands at the cursor.
    dana.keyboard.press("r")
    reply = dana.locator("#reply-text")
    expect(reply).to_be_focused()
    dana.keyboard.type("Thanks for waiting. /ref")
    expect(dana.locator("#slash-picker [role=option]").first).to_be_visible()
    dana.keyboard.press("ArrowDown")
    dana.keyboard.press("Enter")
    expect(reply).to_have_value("Thanks for waiting. Hi Ada Lovelace, refunds reach your card in 5 days.")
    dana.keyboard.press("Control+Enter")
    expect(dana.locator("#transcript .msg-agent")).to_contain_text("refunds reach your card")
    shoot(dana, "inbox-conversation-1440x900")

    # Transfer to Sam with a note, by keyboard; Sam is told, with the note, and reads it in the transcript.
    dana.locator(".transfer summary").focus()
    dana.keyboard.press("Enter")
    dana.locator("#transfer-target").select_option(f"agent:{ids['sam']}")
    dana.locator("#transfer-note").focus()
    dana.keyboard.type("Wants a refund of 50; already checked the order")
    dana.keyboard.press("Enter")
    cue = sam.locator("#cue")
    expect(cue).to_contain_text("Wants a refund of 50")
    cue.get_by_role("link", name="open it").focus()
    sam.keyboard.press("Enter")
    sam.wait_for_url(f"**/inbox/c/{ids['current']}/")
    expect(sam.locator("#transcript .msg-event")).to_contain_text("Wants a refund of 50")
    expect(sam.locator(".conversation-header .transfer-note")).to_contain_text("Note from Dana")
    shoot(sam, "inbox-conversation-390x844")

    # Search by a word of the old conversation (/ focuses the search), open it, then the customer's history.
    dana.goto(live_server_url + "/inbox/?view=teams")
    dana.keyboard.press("/")
    expect(dana.locator("#search-input")).to_be_focused()
    dana.keyboard.type("umbrella")
    dana.keyboard.press("Enter")
    expect(dana.locator("#list-heading")).to_have_text("Search results for “umbrella”")
    expect(dana).to_have_url(re.compile(r"q=umbrella"))
    expect(dana.locator("#conversation-list .row")).to_have_count(1)
    shoot(dana, "inbox-search-1440x900")
    dana.keyboard.press("Escape")
    dana.keyboard.press("j")
    dana.keyboard.press("Enter")
    dana.wait_for_url(f"**/inbox/c/{ids['old']}/")
    history = dana.locator("#customer-history").get_by_role("link")
    expect(history).to_have_count(1)
    history.focus()
    dana.keyboard.press("Enter")
    dana.wait_for_url(f"**/inbox/c/{ids['current']}/")

    # Bot conversations live: take one over with t.
    dana.goto(live_server_url + "/inbox/?view=bot")
    dana.keyboard.press("j")
    dana.keyboard.press("Enter")
    dana.wait_for_url(f"**/inbox/c/{ids['bo']}/")
    expect(dana.locator("body[data-ws=open]")).to_have_count(1)
    dana.keyboard.press("t")
    expect(dana.locator("#conversation-status")).to_have_text("With a person")
    expect(dana.locator("#transcript .msg-system")).to_contain_text("Dana has joined the conversation.")
    # Back and forward move between the list and the conversation, as after page loads.
    dana.go_back()
    expect(dana).to_have_url(re.compile(r"/inbox/\?view=bot$"))
    expect(dana.locator("#list-heading")).to_have_text("Bot conversations live")
    dana.go_forward()
    expect(dana.locator("#conversation-header h1")).to_have_text("Bo Browser")

    # Snooze Quinn until they reply; the visitor writes and the conversation comes back, live.
    dana.goto(live_server_url + f"/inbox/c/{ids['quinn']}/")
    expect(dana.locator("body[data-ws=open]")).to_have_count(1)
    dana.keyboard.press("s")
    expect(dana.locator("#snooze-for")).to_be_focused()
    dana.locator("#snooze-for").select_option("reply")
    dana.keyboard.press("Tab")
    dana.keyboard.press("Enter")
    expect(dana.locator("#snooze-state")).to_have_text("Snoozed until the visitor replies")
    dana.goto(live_server_url + "/inbox/?view=queue")
    expect(dana.locator("body[data-ws=open]")).to_have_count(1)
    expect(dana.locator("#count-snoozed")).to_have_text("1")
    expect(dana.locator(f'#conversation-list [data-conversation="{ids["quinn"]}"]')).to_have_count(0)
    in_thread(lambda: MessageFactory(conversation=Conversation.objects.get(pk=ids["quinn"]), text="Hello again?"))
    expect(dana.locator("#count-snoozed")).to_have_text("0")
    expect(dana.locator(f'#conversation-list [data-conversation="{ids["quinn"]}"]')).to_have_count(1)
    expect(dana.locator("#conversation-list .timer").first).to_contain_text("waiting")
    shoot(dana, "inbox-list-1440x900")

    # ? shows the shortcuts; Esc closes them.
    dana.keyboard.press("?")
    expect(dana.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    shoot(dana, "inbox-shortcuts-1440x900")
    dana.keyboard.press("Escape")
    expect(dana.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    sam.goto(live_server_url + "/inbox/?view=teams")
    shoot(sam, "inbox-list-390x844")
