"""A socket that drops between an ack and a reply stored just before it (issue 17, seen in the fault
suite's Daphne kill): the ack of the visitor's next message can overtake the reply, which is still on
its way over the channel layer. The widget resumed after the highest seq it had, the ack's, and the
reply never appeared until a reload."""

import json
import re
import time

import pytest
from playwright.sync_api import expect

from chat.models import Message
from tests.e2e.support import Widget

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_reply_overtaken_by_an_ack_is_shown_after_the_reconnect(page, live_server_url):
    sockets = []  # (route, frames the page sent) per connection, in order
    page.route_web_socket(re.compile(r"/ws/widget/"), lambda route: sockets.append(relay(route, first=not sockets)))
    page.goto(live_server_url + "/")
    widget = Widget(page)
    widget.open()
    widget.say("Do you ship to Norway?")
    deadline = time.monotonic() + 20
    while not Message.objects.filter(sender=Message.Sender.BOT).exists():  # stored, held on its way
        assert time.monotonic() < deadline, "the bot never answered"
        page.wait_for_timeout(100)  # (lets Playwright relay frames meanwhile)
    widget.say("And to Iceland?")  # acked with seq 3: after the held reply's 2

    first_route, _ = sockets[0]
    first_route.close(code=1011)  # the server went away before the reply reached the page
    expect(widget.answers()).to_have_count(2, timeout=20_000)
    resumes = [frame for frame in sockets[1][1] if frame["type"] == "resume"]
    assert resumes[0]["after_seq"] == 1, resumes


def relay(route, *, first: bool):
    """Pass frames both ways, except the bot's live replies on the first connection (never passed: as if
    still on their way, or lost); a history frame the page asks for passes."""
    server = route.connect_to_server()
    sent: list[dict] = []

    def to_server(frame) -> None:
        sent.append(json.loads(frame))
        server.send(frame)

    def to_page(frame) -> None:
        event = json.loads(frame)
        if not (first and event["type"] == "message" and event["sender"] == "bot"):
            route.send(frame)

    route.on_message(to_server)
    server.on_message(to_page)
    return route, sent


def test_a_reply_whose_push_was_lost_is_shown_on_a_socket_that_stays_open(page, live_server_url):
    """The reply is stored but its push never arrives (a worker killed between the commit and the
    broadcast) and the socket stays up: the widget's next ping asks for what it is missing."""
    sockets = []
    page.route_web_socket(re.compile(r"/ws/widget/"), lambda route: sockets.append(relay(route, first=True)))
    page.goto(live_server_url + "/")
    widget = Widget(page)
    widget.open()
    widget.say("Do you ship to Norway?")

    expect(widget.answers()).to_have_count(1, timeout=30_000)  # within the ping interval (20 s)
    assert len(sockets) == 1, "the widget reconnected instead of asking on its open socket"
    resumes = [frame for frame in sockets[0][1] if frame["type"] == "resume"]
    assert resumes and resumes[-1]["after_seq"] == 1, resumes
