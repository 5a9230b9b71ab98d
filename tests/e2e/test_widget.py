"""The chat widget on the demo shop, driven in headless Chromium against a real Daphne server.

Playwright's locators pierce the widget's open shadow root. The live server is another
process: this test process's channel layer is in-memory, so a message it stores reaches the
browser only through the widget's resume after a reconnect (which is the point of the offline test).
"""

import re

import pytest
from playwright.sync_api import expect

from chat import services
from chat.models import Conversation, Message
from tests.e2e.support import Widget, in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ACCENT = "rgb(47, 111, 79)"  # data-color="#2f6f4f" on the demo pages


@pytest.fixture
def widget(page, live_server_url):
    page.goto(live_server_url + "/")
    return Widget(page)


def test_a_visitor_gets_a_sourced_answer_keeps_it_after_reload_and_catches_up_after_going_offline(
    widget, page, live_server_url
):
    from knowledge.demo import load_demo_knowledge_base

    load_demo_knowledge_base()
    widget.open()
    widget.say("How long does shipping take?")

    answer = widget.answers().first
    expect(answer).to_be_visible(timeout=20_000)
    source = answer.locator(".hw-sources a").first
    expect(source).to_have_attribute("href", re.compile(r"/help/shipping$"))
    conversation = Conversation.objects.get()
    bot_message = conversation.messages.get(sender=Message.Sender.BOT)
    assert bot_message.metadata["sources"] and "confidence" in bot_message.metadata

    # The source link goes to a real page of the shop.
    assert page.request.get(source.get_attribute("href")).status == 200

    page.reload()
    expect(widget.panel).to_be_visible()  # it was open, so it opens again
    expect(widget.sent("How long does shipping take?")).to_be_visible()
    expect(widget.answers().first).to_contain_text(bot_message.text[:40])

    page.context.set_offline(True)
    expect(widget.status).to_contain_text("offline")
    in_thread(
        services.message_create,
        conversation=conversation,
        sender=Message.Sender.AGENT,
        text="Dana here: it's on its way!",
    )
    page.wait_for_timeout(1000)
    missed = widget.log.get_by_text("Dana here: it's on its way!")
    expect(missed).to_have_count(0)

    page.context.set_offline(False)
    expect(missed).to_be_visible(timeout=15_000)
    expect(widget.status).not_to_contain_text("offline")
    # Nothing twice: every seq is on screen once.
    seqs = widget.shadow("[...root.querySelectorAll('[data-seq]')].map(e => e.dataset.seq)")
    assert len(seqs) == len(set(seqs)) == conversation.messages.count() + 1  # + the local greeting


def test_a_message_written_offline_is_sent_once_back_online(widget, page):
    widget.open()
    widget.say("Hello")  # the first message creates the conversation
    page.context.set_offline(True)
    expect(widget.status).to_contain_text("offline")
    widget.input.fill("Written on the train")
    widget.input.press("Enter")
    pending = widget.log.locator(".hw-msg--pending").filter(has_text="Written on the train")
    expect(pending).to_be_visible()
    page.context.set_offline(False)
    expect(widget.sent("Written on the train")).to_be_visible(timeout=15_000)
    assert Message.objects.filter(text="Written on the train").count() == 1


def test_chat_text_is_shown_as_text_never_as_html(widget, page):
    widget.open()
    payload = '<img src=x onerror="window.pwned = 1"><b>bold?</b>'
    widget.say(payload)
    expect(widget.sent(payload)).to_have_text(re.compile(re.escape(payload)))
    assert widget.shadow("root.querySelectorAll('.hw-log img, .hw-log b').length") == 0
    assert page.evaluate("window.pwned") is None
    assert Message.objects.get(sender="visitor").text == payload  # stored raw


def test_the_widget_works_from_the_keyboard_and_escape_closes_it(widget, page):
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    widget.launcher.focus()
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    assert widget.shadow("root.activeElement && root.activeElement.id") == "hw-input"
    expect(widget.log).to_have_attribute("aria-live", "polite")

    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Enter")
    expect(widget.sent("Typed without a mouse")).to_be_visible()

    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    assert widget.shadow("root.activeElement && root.activeElement.className") == "hw-launcher"


def test_the_host_pages_css_does_not_leak_into_the_widget(widget):
    # The demo page styles every button hot pink in Comic Sans on purpose.
    assert widget.launcher.evaluate("e => getComputedStyle(e).backgroundColor") == ACCENT
    widget.open()
    send = widget.panel.get_by_role("button", name="Send")
    assert "Comic Sans" not in send.evaluate("e => getComputedStyle(e).fontFamily")


def test_on_a_phone_the_panel_fills_the_screen(browser, live_server_url):
    # Reduced motion: no opening animation to catch mid-flight when measuring.
    context = browser.new_context(
        viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True, reduced_motion="reduce"
    )
    try:
        page = context.new_page()
        page.goto(live_server_url + "/")
        widget = Widget(page)
        widget.open()
        box = widget.panel.bounding_box()
        assert (round(box["x"]), round(box["y"]), round(box["width"]), round(box["height"])) == (0, 0, 375, 700)
        expect(page.get_by_role("button", name="Close chat")).to_be_visible()
        expect(widget.input).to_be_visible()
        widget.say("Typed on a phone")
    finally:
        context.close()


def test_talk_to_a_person_puts_the_visitor_in_the_queue(widget):
    widget.open()
    # Offered once the visitor has written (issue 16: empty sockets must not fill the queue).
    expect(widget.panel.locator(".hw-person")).to_be_hidden()
    widget.say("My parcel is lost")
    person = widget.panel.get_by_role("button", name="Talk to a person", exact=True).last
    person.click()
    expect(widget.log.locator(".hw-msg--system")).to_be_visible(timeout=10_000)
    expect(widget.status).not_to_be_empty()
    expect(widget.panel.locator(".hw-person")).to_be_hidden()
    assert Conversation.objects.get().status == Conversation.Status.QUEUED


def test_a_tampered_stored_token_is_refused_and_the_widget_starts_over(widget, page, live_server_url):
    widget.open()
    widget.say("My real conversation")
    # Let the bot answer first: the widget saves its state as messages arrive.
    expect(widget.answers().first).to_be_visible(timeout=20_000)
    real = Conversation.objects.get()
    key = "handoff-widget:" + live_server_url
    page.evaluate(
        "key => { const s = JSON.parse(localStorage.getItem(key)); s.token = s.token.slice(0, -3) + 'abc';"
        " localStorage.setItem(key, JSON.stringify(s)); }",
        key,
    )
    page.reload()
    expect(widget.panel).to_be_visible()
    widget.say("A fresh start")
    expect(widget.sent("My real conversation")).to_have_count(0)
    fresh = Conversation.objects.exclude(pk=real.pk).get()
    assert fresh.customer_id != real.customer_id
    assert list(real.messages.filter(sender="visitor").values_list("text", flat=True)) == ["My real conversation"]
