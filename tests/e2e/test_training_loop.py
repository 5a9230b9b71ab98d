"""The closed loop, end to end: the bot cannot answer, a person does, a real Celery worker turns that
into a training suggestion, a reviewer approves it in admin, and the bot answers the next visitor.

Two processes besides pytest: the Daphne live server (widget and admin, tasks eager in it) and a
Celery worker over Redis, which receives what this process queues with `.delay()` (here: the
generation queued on commit by handoff_resolve).
"""

import re

import pytest
from playwright.sync_api import expect

from agents.models import Agent
from chat.models import Conversation, Message
from handoff.models import Handoff
from handoff.services import handoff_resolve
from inbox.services import agent_reply
from knowledge.answers import DECLINE_TEXT
from knowledge.models import Article, TrainingSuggestion
from tests.e2e.support import Widget, in_thread
from tests.factories import AgentFactory, TeamFactory, UserFactory, team_open_all_week
from tests.support.services import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
QUESTION = "Can you engrave my water bottle?"
PARAPHRASE = "Can I get my name engraved on a bottle?"
AGENT_ANSWER = (
    "Hi Ada, thanks for waiting! Yes, we engrave Northwind water bottles and flasks free of charge, "
    "up to 20 characters. Choose Add engraving on the product page before adding it to your basket. "
    "Best, Dana"
)


def open_team_with_dana():
    team = team_open_all_week(TeamFactory(name="Customer Support", slug="support"))
    dana = AgentFactory(user=UserFactory(username="dana", first_name="Dana"), teams=[team])
    Agent.objects.filter(pk=dana.pk).update(status=Agent.Status.ONLINE)  # routing gives her the next handoff
    return dana


def new_page(browser):
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    return page


def test_an_agents_answer_becomes_an_article_a_reviewer_approves_and_the_bot_then_uses(
    browser, live_server_url, celery_worker
):
    from knowledge.demo import load_demo_knowledge_base

    in_thread(load_demo_knowledge_base)
    dana = in_thread(open_team_with_dana)
    UserFactory(username="morgan", first_name="Morgan", is_staff=True, is_superuser=True)

    # 1. A visitor asks something the help centre does not cover; the bot declines and hands off.
    first = new_page(browser)
    first.goto(live_server_url + "/")
    widget = Widget(first)
    widget.open()
    widget.say(QUESTION)
    declined = widget.answers().last
    expect(declined).to_contain_text("I'm not sure about that one")
    declined.get_by_role("button", name="Talk to a person").click()  # the one offered with the decline
    expect(widget.status).to_contain_text("You're chatting with Dana.")
    conversation = Conversation.objects.get()
    assert Message.objects.get(conversation=conversation, sender="bot").metadata["declined"] is True

    # 2. Dana answers and resolves. The resolution queues generation on commit; this process is
    #    not eager any more, so only the real worker can create the suggestion.
    assert celery_worker.conf.task_always_eager is False
    assert Handoff.objects.get(conversation=conversation).agent == dana
    in_thread(agent_reply, agent_user=dana.user, conversation=Conversation.objects.get(), text=AGENT_ANSWER)
    in_thread(handoff_resolve, conversation=conversation, actor=dana.user)

    suggestion = wait_for(
        lambda: TrainingSuggestion.objects.filter(kind="new_article").first(),
        timeout=90,
        what="the worker to generate the suggestion",
    )
    assert suggestion.question == QUESTION and suggestion.impact == 1
    assert "Dana" not in suggestion.body and "thanks for waiting" not in suggestion.body

    # 3. A reviewer approves it in admin, with the evidence beside the proposal.
    admin = new_page(browser)
    admin.goto(live_server_url + "/admin/knowledge/trainingsuggestion/")
    admin.fill("#id_username", "morgan")
    admin.fill("#id_password", PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    expect(admin.locator("#result_list")).to_contain_text("1 conversation")
    admin.get_by_role("link", name=QUESTION).click()
    evidence = admin.get_by_role("complementary", name="Evidence")
    expect(evidence).to_contain_text(QUESTION)
    expect(evidence).to_contain_text("Hi Ada, thanks for waiting!")  # the transcript is as it happened
    expect(admin.locator("#id_body")).to_have_value(re.compile(r"^Yes, we engrave Northwind water bottles"))
    admin.get_by_role("button", name="Approve as proposed").click()
    expect(admin.locator(".messagelist")).to_contain_text(f"Approved “{QUESTION}”")

    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.reviewer.username) == ("approved", "morgan")
    article = Article.objects.get(pk=suggestion.applied_change["article_id"])
    # Embedding ran on commit of the approval (eagerly, in the live server), the classifier after it.
    wait_for(
        lambda: Article.objects.filter(pk=article.pk, embedded_at__isnull=False).exists(), timeout=30, what="embedding"
    )

    # 4. Another visitor asks a paraphrase and gets the bot's answer, from the new article.
    second = new_page(browser)
    second.goto(live_server_url + "/")
    widget = Widget(second)
    widget.open()
    widget.say(PARAPHRASE)
    answer = widget.answers().last
    expect(answer).to_contain_text("we engrave Northwind water bottles and flasks free of charge")
    expect(answer).not_to_contain_text(DECLINE_TEXT)
    reply = Message.objects.filter(sender="bot").exclude(conversation=conversation).get()
    assert reply.metadata["declined"] is False
    assert [source["article_id"] for source in reply.metadata["sources"]] == [article.pk]
