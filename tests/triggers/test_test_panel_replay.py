"""Issue 15 item 11: the test panel replays a stored conversation, so history signals can be tested;
its Attributes box never shows a literal null."""

import pytest
from django.urls import reverse

from chat.models import Message
from tests.reports.conftest import Story
from triggers.models import TriggerFiring, TriggerRule

pytestmark = pytest.mark.django_db
TEST_URL = reverse("admin:triggers_triggerrule_test")


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def thumbs_down_twice(no_rules):
    """Two thumbs-down on the bot's answers, then the visitor writes again; the rule fired live on it."""
    story = Story()
    conversation = story.conversation(started=100, active=90)
    story.say(conversation, "where is my parcel", at=100)
    story.say(conversation, "It ships in 2 days.", at=99, sender=Message.Sender.BOT, confidence=0.8, feedback="down")
    story.say(conversation, "it has been a week", at=98)
    story.say(conversation, "It ships in 2 days.", at=97, sender=Message.Sender.BOT, confidence=0.8, feedback="down")
    last = story.say(conversation, "this is useless", at=96)
    rule = TriggerRule.objects.create(
        name="Two thumbs down", conditions=[{"kind": "bot", "signal": "negative_feedback", "count": 2}]
    )
    TriggerFiring.objects.create(rule=rule, rule_name=rule.name, conversation=conversation, message=last)
    return conversation


def test_the_attributes_box_is_empty_not_null(admin_client, no_rules):
    page = admin_client.get(TEST_URL).content.decode()
    assert 'name="attributes"' in page and 'value="null"' not in page

    posted = admin_client.post(TEST_URL, {"message": "hi", "channel": "web", "business_hours": "now"})
    assert 'value="null"' not in posted.content.decode()


def test_a_stored_conversation_replays_with_its_history_signals(admin_client, thumbs_down_twice):
    response = admin_client.post(
        TEST_URL, {"conversation": thumbs_down_twice.pk, "channel": "web", "business_hours": "now"}
    )

    replayed = response.context["replayed"]
    fired = [(item.message.seq, [m.rule_name for m in item.result.matches]) for item in replayed.messages]
    assert fired == [(1, []), (3, []), (5, ["Two thumbs down"])]  # only once two answers got a thumbs-down
    assert replayed.messages[-1].fired_live == ("Two thumbs down",)
    page = response.content.decode()
    assert f"Conversation {thumbs_down_twice.pk}, replayed" in page and "this is useless" in page


def test_the_firing_log_links_each_firing_to_its_replay(admin_client, thumbs_down_twice):
    page = admin_client.get(reverse("admin:triggers_triggerfiring_changelist")).content.decode()
    assert f"{TEST_URL}?conversation={thumbs_down_twice.pk}" in page

    prefilled = admin_client.get(TEST_URL, {"conversation": thumbs_down_twice.pk}).content.decode()
    assert f'name="conversation" value="{thumbs_down_twice.pk}"' in prefilled


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"conversation": "999999"}, "There is no conversation 999999."),
        ({}, "Write a message to test, or give a conversation to replay."),
    ],
)
def test_the_panel_says_what_is_missing(admin_client, no_rules, data, message):
    response = admin_client.post(TEST_URL, {"channel": "web", "business_hours": "now", **data})
    assert message in response.content.decode()
