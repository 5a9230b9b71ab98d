"""Issue 15 item 5 in a real browser: the widget's "we'll reply there" is kept. The visitor leaves an address
out of hours and goes away; the agent's reply reaches a real SMTP server on 127.0.0.1 (aiosmtpd) with a
reply address naming the conversation; the visitor answers by email, and back on the site the widget shows
the whole conversation, their emailed answer included. While the visitor is in the chat, nothing is emailed."""

import base64
import datetime as dt
import re
import time
from email.message import EmailMessage

import pytest
from django.test import Client
from playwright.sync_api import expect

from agents.models import Agent, BusinessHours
from api.models import EmailThread
from chat.models import Conversation
from handoff.selectors import handoff_open
from handoff.services import handoff_assign
from inbox.services import agent_reply
from tests.e2e.support import Widget, in_thread
from tests.factories import AgentFactory, TeamFactory, UserFactory
from widget.models import VisitorConnection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def closed_team_and_dana():
    team = TeamFactory(name="Customer Support", slug="support", out_of_hours_message="We're closed right now.")
    BusinessHours.objects.create(team=team, weekday=0, opens_at=dt.time(9), closes_at=dt.time(9, 1))
    return AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team])


def dana_takes_it(dana):
    Agent.objects.filter(pk=dana.pk).update(status=Agent.Status.ONLINE)
    conversation = Conversation.objects.get()
    handoff_assign(handoff=handoff_open(conversation=conversation), agent=dana)


def dana_replies(dana, text):
    agent_reply(agent_user=dana.user, conversation=Conversation.objects.get(), text=text)


def wait_until(condition, what: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_visitor_who_left_gets_the_reply_by_email_and_answers_it(
    browser, live_server_url, smtp_server, settings, redis_channel_layer
):
    """Dana's side runs in this process (the services the inbox calls), broadcasting over Redis to the server."""
    dana = in_thread(closed_team_and_dana)
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    page.goto(live_server_url + "/")
    widget = Widget(page)
    widget.open()
    widget.say("Where is my refund?")  # the "Talk to a person" button comes with a conversation
    # The panel's button: a declined answer may carry its own "Talk to a person" in the log.
    page.locator(".hw-person").click()
    page.get_by_label(re.compile("Leave your email")).fill("ada@example.com")
    page.get_by_role("button", name="Save email").click()
    expect(page.get_by_text("Thanks, we'll use ada@example.com")).to_be_visible()

    # Dana starts her shift while Ada is still on the page: the reply is shown there, not emailed.
    in_thread(dana_takes_it, dana=dana)
    in_thread(dana_replies, dana=dana, text="Hi Ada, Dana here. Looking into it.")
    expect(widget.log.locator(".hw-msg--agent").filter(has_text="Looking into it.")).to_be_visible()
    assert smtp_server.received == []

    # Ada leaves the site; Dana's next reply is emailed to her.
    page.goto("about:blank")
    wait_until(lambda: not VisitorConnection.objects.exists(), "the widget's socket closed")
    in_thread(dana_replies, dana=dana, text="Your refund was sent today.")
    (emailed,) = smtp_server.wait_for(1)
    email = emailed.message
    thread = EmailThread.objects.get()
    assert emailed.rcpt_tos == ["ada@example.com"]
    assert email["Reply-To"] == f"reply+{thread.token}@support.northwind.test"
    assert "Your refund was sent today." in email.get_body(("plain",)).get_content()

    # She answers from her mail program; her provider posts it to the inbound webhook.
    settings.EMAIL_INBOUND_SECRET = "inbound-secret"
    answer = EmailMessage()
    answer["From"], answer["To"], answer["Subject"] = "ada@example.com", email["Reply-To"], "Re: " + email["Subject"]
    answer["In-Reply-To"] = email["Message-ID"]
    answer.set_content("Thank you, it arrived!\n\nOn Tue, Dana wrote:\n> Your refund was sent today.")
    auth = "Basic " + base64.b64encode(b"provider:inbound-secret").decode()
    posted = Client().post("/api/email/inbound/", {"email": answer.as_string()}, HTTP_AUTHORIZATION=auth)
    assert posted.status_code == 200 and posted.json()["status"] == "stored", posted.content

    # Back on the site, the widget shows the whole conversation, her emailed answer included.
    page.goto(live_server_url + "/")
    widget = Widget(page)
    expect(widget.launcher).to_be_visible()
    if not widget.panel.is_visible():  # the widget remembers whether it was open
        widget.open()
    expect(widget.log.locator(".hw-msg--agent").filter(has_text="Your refund was sent today.")).to_be_visible()
    expect(widget.log.locator(".hw-msg--visitor").filter(has_text="Thank you, it arrived!")).to_be_visible()
    expect(widget.log.locator(".hw-msg--visitor").filter(has_text="Your refund was sent")).to_have_count(0)
