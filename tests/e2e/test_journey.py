"""The handoff journey on slightly less happy paths (issue 15), a visitor and an agent in two browsers.

The server here is a Daphne of its own whose business-hours clock is fixed at Tuesday 08:00 UTC
(HANDOFF_FIXED_CLOCK), so "in hours with nobody online" and "closed" are tested at fixed clock
times whatever day the suite runs. The team works Mon-Fri 08:00-20:00; Dana is offline until she
signs in. (The email half of the journey, a reply emailed to a visitor who left and answered by
email, is tests/e2e/test_email_journey.py.)
"""

import datetime as dt
import re

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import expect

from agents.models import BusinessHours
from chat.models import Conversation
from handoff.models import Handoff, SatisfactionRating
from handoff.services import conversations_resolve_idle
from tests.conftest import LOG_DIR
from tests.e2e.support import Widget, in_thread
from tests.factories import AgentFactory, TeamFactory, UserFactory
from tests.support import services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TUESDAY_8AM = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
PASSWORD = "a-long-test-password"
SCREENSHOTS = django_settings.BASE_DIR / "var" / "screenshots"


def snapshot(widget: Widget, name: str) -> None:
    """The widget as the visitor sees it, for a person to look at (var/screenshots/journey-*.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    widget.page.screenshot(path=str(SCREENSHOTS / f"journey-{name}.png"))


@pytest.fixture(scope="module")
def clocked_server(redis_url, django_db_setup, django_db_blocker):
    with services.daphne(
        redis_url=redis_url, log_path=LOG_DIR / "daphne-journey.log", HANDOFF_FIXED_CLOCK=TUESDAY_8AM.isoformat()
    ) as url:
        yield url


def the_company():
    """The demo knowledge base, the shipped rules, a weekday team and Dana (offline)."""
    from knowledge.demo import load_demo_knowledge_base
    from triggers.services import triggers_defaults_install

    load_demo_knowledge_base()
    triggers_defaults_install(replace=True)
    team = TeamFactory(name="Customer Support", slug="support", time_zone="UTC")
    for weekday in range(5):
        BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(8), closes_at=dt.time(20))
    AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team], max_concurrent=2)
    return team


@pytest.fixture
def company(settings, redis_channel_layer):
    settings.HANDOFF_FIXED_CLOCK = TUESDAY_8AM  # for the services this process calls, as for the server
    return in_thread(the_company)


def visitor(browser, base: str) -> Widget:
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    page.goto(base + "/")
    widget = Widget(page)
    widget.open()
    return widget


def button(widget: Widget, name: str):
    return widget.page.get_by_role("button", name=name, exact=True)


def person_button(widget: Widget):
    """The panel's "Talk to a person": a declined answer may carry its own in the log."""
    return widget.page.locator(".hw-person")


def test_questions_are_never_swallowed_and_the_button_queues_like_the_words(browser, clocked_server, company):
    ada = visitor(browser, clocked_server)
    for question in ("How long does shipping take?", "Do you ship to Canada?"):
        ada.say(question)
    expect(ada.answers()).to_have_count(2)
    ada.say("do you take paypal")
    expect(ada.answers().nth(2)).to_contain_text("PayPal")  # it used to vanish into "Bot stuck twice"

    person_button(ada).click()
    # 08:00 on a Tuesday, inside Mon-Fri 08:00-20:00, nobody online: not "offline", not the hours.
    notice = ada.log.locator(".hw-msg--system").last
    expect(notice).to_contain_text("someone will be with you as soon as possible")
    expect(notice).not_to_contain_text("offline")
    expect(ada.status).to_have_text("Waiting for a person · number 1 in the queue")  # said once in full

    bo = visitor(browser, clocked_server)
    bo.say("I want to talk to a human")
    expect(bo.status).to_contain_text("number 2 in the queue")
    by_button, by_words = Handoff.objects.order_by("requested_at")
    assert by_button.priority == by_words.priority and by_button.reason == by_words.reason == "Asked for a person"

    # Bo no longer needs anyone: back with the assistant, and Ada is alone in the queue.
    button(bo, "I no longer need a person").click()
    expect(bo.log).to_contain_text("back with our assistant")
    expect(person_button(bo)).to_be_visible()
    bo.say("where is my order")
    expect(bo.answers().last).to_contain_text("tracking")
    assert Handoff.objects.get(pk=by_words.pk).status == Handoff.Status.CANCELLED


def test_a_waiting_visitor_chats_with_the_bot_and_the_agent_who_joins_sees_it(browser, clocked_server, company):
    ada = visitor(browser, clocked_server)
    ada.say("How long does shipping take?")
    expect(ada.answers()).to_have_count(1)
    person_button(ada).click()
    expect(ada.log.locator(".hw-msg--system").last).to_contain_text("as soon as possible")

    button(ada, "Keep chatting with the assistant while you wait").click()
    expect(ada.log).to_contain_text("you keep your place in the queue")
    ada.say("where is my order")
    expect(ada.answers().last).to_contain_text("tracking")
    expect(ada.status).to_contain_text("number 1 in the queue")
    snapshot(ada, "waiting-with-the-bot")

    dana = browser.new_context().new_page()
    dana.set_default_timeout(15_000)
    dana.goto(clocked_server + "/inbox/")
    dana.fill("input[name=username]", "dana")
    dana.fill("input[name=password]", PASSWORD)
    dana.click("button[type=submit]")
    dana.wait_for_url("**/inbox/")
    conversation = Conversation.objects.get()
    dana.goto(f"{clocked_server}/inbox/c/{conversation.pk}/")
    transcript = dana.locator("#transcript")
    expect(transcript.locator(".msg-bot").filter(has_text="tracking")).to_be_visible()  # what the bot told her
    dana.get_by_role("button", name="Accept").click()
    expect(ada.log).to_contain_text("Dana has joined the conversation.")

    ada.say("How do I return an item?")
    expect(transcript.locator(".msg-visitor").last).to_contain_text("How do I return an item?")
    ada.page.wait_for_timeout(1500)
    expect(ada.answers()).to_have_count(2)  # with a person now, the bot is quiet again
    dana.context.close()


def test_closed_says_when_the_team_is_back(browser, clocked_server, company):
    BusinessHours.objects.filter(team=company).update(opens_at=dt.time(9), closes_at=dt.time(17))
    ada = visitor(browser, clocked_server)
    ada.say("Is anyone there?")
    person_button(ada).click()
    expect(ada.log.locator(".hw-msg--system").last).to_contain_text("We're back today at 09:00.")
    expect(ada.page.get_by_label(re.compile("Leave your email"))).to_be_visible()  # at once: nobody before 09:00
    snapshot(ada, "closed")


def test_an_idle_bot_conversation_ends_with_the_bot_csat_and_the_report_counts_it(browser, clocked_server, company):
    ada = visitor(browser, clocked_server)
    ada.say("do you take paypal")
    expect(ada.answers()).to_have_count(1)
    bo = visitor(browser, clocked_server)
    bo.say("What is the airspeed velocity of an unladen swallow?")
    expect(bo.answers().first).to_contain_text("not sure")
    bo.page.context.close()  # Bo leaves after the decline

    resolved = in_thread(conversations_resolve_idle, now=timezone.now() + dt.timedelta(minutes=31))
    assert len(resolved) == 2

    expect(ada.page.get_by_text("How did our assistant do?")).to_be_visible()
    snapshot(ada, "bot-csat")
    ada.page.get_by_role("button", name="5 out of 5").click()
    ada.page.get_by_role("button", name="Send rating").click()
    expect(ada.page.get_by_text("Thanks for your rating!")).to_be_visible()
    assert SatisfactionRating.objects.get().subject == "bot"

    in_thread(UserFactory, username="morgan", is_staff=True, is_superuser=True)
    manager = browser.new_context().new_page()
    manager.goto(clocked_server + "/admin/login/?next=/admin/reports/report/")
    manager.fill("input[name=username]", "morgan")
    manager.fill("input[name=password]", PASSWORD)
    manager.click("input[type=submit]")
    manager.wait_for_url("**/admin/reports/report/")
    cards = manager.locator(".cards")
    expect(cards.locator(".card", has_text="CSAT: the assistant")).to_contain_text("5.00")
    # Two bot conversations ended; the declined one is not "contained": half the finished ones.
    expect(cards.locator(".card", has_text="Automation rate")).to_contain_text("50.0%")
    manager.context.close()
