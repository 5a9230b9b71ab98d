"""Replaying a draft rule over stored history: which conversations it would have handed off, and how
that compares with what happened and with the agents' labels."""

import pytest
from django.urls import reverse

from chat.models import Message
from handoff.models import Handoff
from tests.reports.conftest import Story
from tests.support.services import wait_for
from triggers.models import TriggerRule
from triggers.replay import replay_job_read, rule_replay

pytestmark = pytest.mark.django_db
DAY = 60 * 24


@pytest.fixture
def history(no_rules):
    story = Story()
    c = {}
    c["refund_handed_off"] = story.conversation(started=100, active=50)
    story.say(c["refund_handed_off"], "I want a refund for my order", at=100)
    story.handoff(c["refund_handed_off"], requested=99, assigned=95, ended=60, verdict="needed")
    c["refund_bot"] = story.conversation(started=200, active=150)
    story.say(c["refund_bot"], "hello", at=200)
    story.say(c["refund_bot"], "Hi! How can I help?", at=199, sender=Message.Sender.BOT, confidence=0.9)
    story.say(c["refund_bot"], "can I get a refund please", at=198)
    c["parcel_needed"] = story.conversation(started=300, active=250)
    story.say(c["parcel_needed"], "where is my parcel", at=300)
    story.handoff(c["parcel_needed"], requested=299, assigned=290, ended=260, verdict="needed")
    c["refund_later"] = story.conversation(started=400, active=350)
    story.say(c["refund_later"], "refund", at=400)
    story.say(c["refund_later"], "a person please", at=398)
    story.handoff(c["refund_later"], requested=397, assigned=390, ended=360, verdict="bot_could_answer")
    old = story.conversation(started=40 * DAY, active=40 * DAY)
    story.say(old, "refund", at=40 * DAY)  # before the 30 days: not replayed
    c["thanks"] = story.conversation(started=500, active=450)
    story.say(c["thanks"], "thanks, that's all", at=500)
    return c


def refund_rule(**fields):
    return TriggerRule(name="Refunds (draft)", conditions=[{"kind": "keywords", "terms": ["refund"]}], **fields)


def test_a_draft_rule_replayed_counts_what_it_would_have_done(history):
    result = rule_replay(rule=refund_rule())

    assert result.conversations_total == 5 and result.conversations_checked == 5
    hits = {hit.conversation_id: hit for hit in result.hits}
    assert set(hits) == {history["refund_handed_off"].pk, history["refund_bot"].pk, history["refund_later"].pk}
    assert hits[history["refund_bot"].pk].seq == 3  # the second visitor message, not "hello"
    assert (result.would_hand_off, result.overlap, result.new_handoffs) == (3, 2, 1)
    assert (result.labelled_needed, result.labelled_bot_could_answer) == (1, 1)
    assert result.earlier == 1  # refund_later: the rule fires on "refund", the visitor asked a message later
    assert result.missed == [history["parcel_needed"].pk]
    assert not TriggerRule.objects.exists()  # nothing stored


def test_history_signals_replay_as_they_were(no_rules):
    """Two thumbs-down on the bot's answers, then the visitor writes: the bot signal fires on that message."""
    story = Story()
    conversation = story.conversation(started=100, active=90)
    story.say(conversation, "where is my parcel", at=100)
    story.say(conversation, "It ships in 2 days.", at=99, sender=Message.Sender.BOT, confidence=0.8, feedback="down")
    story.say(conversation, "it has been a week", at=98)
    story.say(conversation, "It ships in 2 days.", at=97, sender=Message.Sender.BOT, confidence=0.8, feedback="down")
    story.say(conversation, "this is useless", at=96)
    rule = TriggerRule(name="Thumbs", conditions=[{"kind": "bot", "signal": "negative_feedback", "count": 2}])

    result = rule_replay(rule=rule)

    assert [(hit.conversation_id, hit.seq) for hit in result.hits] == [(conversation.pk, 5)]


def test_the_replay_is_bounded_in_time(history):
    result = rule_replay(rule=refund_rule(), seconds=0)
    assert result.conversations_checked == 0 and "time limit" in result.stopped_early


@pytest.fixture
def admin_client(client, manager):
    client.force_login(manager)
    return client


def rule_post(**overrides):
    data = {
        "name": "Refunds", "description": "", "order": "10", "enabled": "on", "match": "all",
        "conditions": '[{"kind": "keywords", "terms": ["refund"]}]', "handoff": "on", "team": "", "priority": "1",
        "reason_label": "Refund", "tags": "[]", "notify_team": "", "visitor_message": "",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_the_admin_replays_the_form_as_it_is_without_saving(admin_client, history):
    response = admin_client.post(reverse("admin:triggers_triggerrule_replay"), rule_post())

    page = response.content.decode()
    assert response.status_code == 200
    assert "Conversations it would have handed off</th><td>3</td>" in page
    assert "the bot handled it" in page and "can I get a refund please" in page
    assert not TriggerRule.objects.exists()
    bad = admin_client.post(reverse("admin:triggers_triggerrule_replay"), rule_post(conditions="[{"))
    assert "This is not valid JSON" in bad.content.decode()


def test_with_a_worker_the_replay_is_a_job_whose_progress_the_page_shows(
    admin_client, history, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = "redis://worker-configured"  # tasks still run eagerly here
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(reverse("admin:triggers_triggerrule_replay"), rule_post())
    assert response.status_code == 302
    waiting = admin_client.get(response["Location"]).content.decode()
    assert "waiting for a worker" in waiting and 'http-equiv="refresh"' in waiting

    for callback in queued:  # the worker picks it up
        callback()

    job_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    page = admin_client.get(response["Location"]).content.decode()
    assert replay_job_read(job_id=job_id)["would_hand_off"] == 3
    assert "Conversations it would have handed off</th><td>3</td>" in page
    assert admin_client.get(reverse("admin:triggers_triggerrule_replay_job", args=["nope"])).status_code == 404


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)  # the worker reads the history: it must be committed
def test_a_real_worker_runs_the_replay_job_and_the_page_reads_its_result(
    admin_client, history, settings, celery_worker, redis_url
):
    settings.REDIS_URL = redis_url
    # The worker writes the job's progress and summary to its cache (Redis, from REDIS_URL): read the same.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}

    response = admin_client.post(reverse("admin:triggers_triggerrule_replay"), rule_post())

    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    summary = wait_for(
        lambda: (replay_job_read(job_id=job_id) or {}).get("state") == "done" and replay_job_read(job_id=job_id),
        timeout=90,
        what="the worker to finish the replay",
    )
    assert (summary["would_hand_off"], summary["overlap"], summary["new_handoffs"]) == (3, 2, 1)
    assert summary["missed"] == [history["parcel_needed"].pk]
    assert (
        "Conversations it would have handed off</th><td>3</td>"
        in admin_client.get(response["Location"]).content.decode()
    )
    assert not TriggerRule.objects.exists()  # replayed, never saved


def test_the_rule_form_offers_the_replay(admin_client, no_rules):
    page = admin_client.get(reverse("admin:triggers_triggerrule_add")).content.decode()
    assert f'formaction="{reverse("admin:triggers_triggerrule_replay")}"' in page
    assert Handoff.objects.count() == 0
