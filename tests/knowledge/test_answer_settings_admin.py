"""The admin trade-off page: cautious / balanced / eager, estimated on the manager's own knowledge base."""

import re

import pytest
from django.urls import reverse

from knowledge.answers import answer_decide
from knowledge.models import AnswerSettings
from knowledge.policy import answer_threshold
from knowledge.services import article_upsert, articles_embed

SMALL_SHOP = {
    "Shipping": [
        "How long does delivery take?",
        "When will my parcel arrive?",
        "Do you ship abroad?",
        "How much is shipping?",
        "Can I get next day delivery?",
        "Which courier do you use?",
    ],
    "Returns": [
        "How do I return an item?",
        "Can I send back shoes that don't fit?",
        "How long do I have to return something?",
        "Is return postage free?",
        "When will I get my refund?",
        "Can I exchange a jacket for another size?",
    ],
    "Payment methods": [
        "Do you take PayPal?",
        "Which cards do you accept?",
        "Can I pay with Apple Pay?",
        "Can I pay in instalments?",
        "Why was my card declined?",
        "Do you accept American Express?",
    ],
    "Password reset": [
        "I forgot my password",
        "How do I reset my password?",
        "The reset email never arrived",
        "Can I change my password?",
        "My password doesn't work",
        "How do I log in if I can't remember my password?",
    ],
}


@pytest.fixture
def small_shop(db):
    articles = [
        article_upsert(
            source=None, external_key=title, title=title, body=f"{title}: what you need to know.", questions=qs
        )[0]
        for title, qs in SMALL_SHOP.items()
    ]
    articles_embed(articles=articles)
    return articles


@pytest.fixture
def logged_in(client, manager):
    client.force_login(manager)
    return client


URL = "admin:knowledge_answersettings_changelist"


def _figures(html: str) -> dict[str, tuple[int, int]]:
    rows = re.findall(
        r'value="(\w*)".*?wrongly answer <span class="figure">(\d+)</span>.*?decline <span class="figure">(\d+)</span>',
        html,
        re.S,
    )
    return {value: (int(n), int(m)) for value, n, m in rows}


@pytest.mark.django_db
def test_the_page_estimates_the_trade_off_on_the_knowledge_base_and_says_it_per_100(logged_in, small_shop):
    page = logged_in.get(reverse(URL))
    assert page.status_code == 200
    assert b"No estimate yet" in page.content

    response = logged_in.post(reverse(URL), {"estimate": "1"}, follow=True)

    estimate = AnswerSettings.objects.get().estimate
    assert estimate["in_scope"] == 24  # every example question, each scored by a model that never saw it
    assert estimate["foreign"] > 500  # the shipped foreign questions, less the topics this shop covers
    assert estimate["foreign_dropped"] > 0  # e.g. Bitext's and CLINC150's own delivery and card questions
    html = response.content.decode()
    assert "Of 100 questions you can&#x27;t answer" in html or "Of 100 questions you can't answer" in html
    figures = _figures(html)
    presets = estimate["presets"]
    for name in ("cautious", "balanced", "eager"):
        assert figures[name] == (
            round(presets[name]["oos_answered"] * 100),
            round(presets[name]["in_scope_declined"] * 100),
        )
    # Cautious answers fewer foreign questions and declines more answerable ones than eager.
    assert figures["cautious"][0] <= figures["balanced"][0] <= figures["eager"][0]
    assert figures["cautious"][1] >= figures["balanced"][1] >= figures["eager"][1]
    assert figures["balanced"][0] < 20  # the default declines most foreign questions on this small shop
    assert "The whole curve" in html


@pytest.mark.django_db
def test_choosing_a_trade_off_moves_the_threshold_the_bot_answers_at(logged_in, small_shop, settings):
    settings.HANDOFF_ANSWER_THRESHOLD = 0.5
    assert answer_threshold() == 0.5

    logged_in.post(reverse(URL), {"preset": "cautious"})
    assert answer_threshold() == 0.75
    assert answer_decide(question="what's the weather in London tomorrow?").threshold == 0.75

    logged_in.post(reverse(URL), {"preset": ""})
    assert answer_threshold() == 0.5

    response = logged_in.post(reverse(URL), {"preset": "reckless"}, follow=True)
    assert b"Unknown trade-off" in response.content
    assert answer_threshold() == 0.5


@pytest.mark.django_db
def test_an_empty_knowledge_base_says_why_it_cannot_be_estimated(logged_in):
    response = logged_in.post(reverse(URL), {"estimate": "1"}, follow=True)

    assert b"Cannot estimate yet: Needs at least two published articles" in response.content


@pytest.mark.django_db
def test_agents_without_admin_access_cannot_change_it(client, agent):
    client.force_login(agent.user)

    response = client.post(reverse(URL), {"preset": "eager"})

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not AnswerSettings.objects.filter(preset="eager").exists()


@pytest.mark.django_db
def test_a_change_made_by_another_process_applies_within_seconds(monkeypatch):
    from knowledge import policy

    AnswerSettings.objects.create(pk=1, preset="eager")
    assert answer_threshold() == 0.25
    AnswerSettings.objects.filter(pk=1).update(preset="cautious")  # as another web process would

    assert answer_threshold() == 0.25  # read once per PRESET_TTL_SECONDS, not once per message
    later = policy.time.monotonic() + policy.PRESET_TTL_SECONDS + 0.1
    monkeypatch.setattr(policy.time, "monotonic", lambda: later)
    assert answer_threshold() == 0.75
