"""The widget's small things (issue 15 item 7), in Chromium: nothing cut silently, each sentence once,
the email card beside (not over) the chat, times on messages, targets big enough, labels that follow
the state, answers reachable with Tab, thumbs drawn without an emoji font."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from agents.models import BusinessHours
from chat.models import Message
from tests.e2e.support import Widget, in_thread
from tests.factories import TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def widget(page, live_server_url):
    from knowledge.demo import load_demo_knowledge_base

    in_thread(load_demo_knowledge_base)
    page.goto(live_server_url + "/")
    widget = Widget(page)
    widget.open()
    return widget


def test_a_message_over_the_limit_is_never_cut_and_says_why(widget):
    text = "x" * 4100
    widget.input.fill(text)
    assert len(widget.input.input_value()) == 4100  # no maxlength: a paste is not silently truncated
    expect(widget.page.locator(".hw-count")).to_have_text(re.compile(r"^100 characters over the 4,000 limit"))
    widget.input.press("Enter")
    expect(widget.page.get_by_role("alert")).to_contain_text("Nothing was cut")
    assert widget.input.input_value() == text and not Message.objects.exists()


def test_answers_have_times_drawn_thumbs_and_follow_the_input_in_tab_order(widget):
    widget.say("How long does shipping take?")
    answer = widget.answers().first
    expect(answer.locator("time.hw-time")).to_be_visible()
    expect(widget.sent("How long does shipping take?").locator("time.hw-time")).to_be_visible()
    thumb = answer.get_by_role("button", name="Helpful", exact=True)
    box = thumb.locator("svg").bounding_box()
    assert box["width"] >= 14 and box["height"] >= 14  # drawn, not an emoji that needs a font

    widget.input.focus()
    reached = []
    for _ in range(8):
        widget.page.keyboard.press("Tab")
        active = (
            "root.activeElement && (root.activeElement.getAttribute('aria-label') || root.activeElement.textContent)"
        )
        reached.append(widget.shadow(active))
    assert "Helpful" in reached, reached  # forwards from the input, no Shift+Tab

    close = widget.page.get_by_role("button", name="Close chat", exact=True).bounding_box()
    assert close["width"] >= 24 and close["height"] >= 24
    expect(widget.page.get_by_role("button", name=re.compile("^Minimise chat"))).to_have_attribute(
        "aria-expanded", "true"
    )
    widget.page.get_by_role("button", name="Close chat", exact=True).click()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    expect(widget.launcher).to_have_accessible_name(re.compile("^Open chat"))


def closed_team():
    team = TeamFactory(name="Customer Support", slug="support", out_of_hours_message="We're closed right now.")
    BusinessHours.objects.create(team=team, weekday=0, opens_at=dt.time(9), closes_at=dt.time(9, 1))


def test_closed_is_said_once_and_the_email_card_leaves_the_last_message_in_view(widget):
    in_thread(closed_team)
    for n in range(6):  # enough to fill the log, so the card's room comes out of it
        widget.say(f"Question number {n}: is anyone there?")
    widget.page.locator(".hw-person").click()
    card = widget.page.get_by_label(re.compile("Leave your email"))
    expect(card).to_be_visible()

    expect(widget.page.get_by_text("We're closed right now.", exact=False)).to_have_count(1)
    last = widget.log.locator(".hw-msg").last
    expect(last).to_contain_text("We're closed right now.")
    log_box, last_box = widget.log.bounding_box(), last.bounding_box()
    assert last_box["y"] + last_box["height"] <= log_box["y"] + log_box["height"] + 1, (
        "the card covers the last message"
    )
    # Without outbound email configured the widget does not promise to reply there.
    expect(card).to_have_accessible_name("Leave your email so the team can get back to you:")
