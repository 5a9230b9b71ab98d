"""What each handoff keeps for the reports: the wait promised, the real wait, the bot's part, the verdict."""

import datetime as dt

import pytest
from django.utils import timezone

from agents.models import Agent
from chat.models import Message
from handoff.availability import DEFAULT_RANGE_FACTORS, TeamQueue, wait_range_factors, wait_text
from handoff.models import Handoff
from handoff.services import (
    HandoffError,
    handoff_assign,
    handoff_request,
    handoff_resolve,
    handoff_return_to_queue,
    handoff_verdict_set,
)
from tests.factories import ConversationFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_wait_the_visitor_is_told_is_stored_with_its_range(conversation, open_team, make_agent):
    make_agent("Dana", capacity=1)  # routing waits for a commit this test never makes: it stays first in line

    handoff = handoff_request(conversation=conversation, reason="Visitor asked")

    handoff.refresh_from_db()
    # No history: 6 minutes per slot, and the range is half to twice that.
    assert (handoff.wait_estimate_seconds, handoff.wait_low_seconds, handoff.wait_high_seconds) == (360, 180, 720)
    assert handoff.email_asked is False
    notice = conversation.messages.filter(sender=Message.Sender.SYSTEM).order_by("-seq").first()
    assert "about 6 minutes (between 3 and 12 minutes)" in notice.text


def test_with_nobody_to_answer_no_wait_is_promised_and_the_email_ask_is_kept(conversation, open_team, settings):
    settings.HANDOFF_EMAIL_ASK_AFTER_SECONDS = 0  # in hours, the email is asked for after this wait
    handoff = handoff_request(conversation=conversation, reason="Visitor asked")
    handoff.refresh_from_db()
    assert handoff.wait_estimate_seconds is None and handoff.wait_low_seconds is None
    assert handoff.email_asked is True


def test_the_real_wait_ends_at_the_first_assignment_even_after_a_return_to_the_queue(conversation, make_agent):
    dana, sam = make_agent("Dana", status=Agent.Status.AWAY), make_agent("Sam", status=Agent.Status.AWAY)
    handoff = handoff_request(conversation=conversation, reason="Visitor asked")
    handoff_assign(handoff=handoff, agent=dana)
    first = Handoff.objects.get(pk=handoff.pk).first_assigned_at
    handoff_return_to_queue(handoff=handoff, reason="Dana went offline")
    handoff_assign(handoff=handoff, agent=sam)

    handoff.refresh_from_db()
    assert first is not None
    assert handoff.first_assigned_at == first < handoff.assigned_at


def test_the_handoff_knows_whether_the_bot_had_answered_before(open_team):
    with_bot = ConversationFactory()
    MessageFactory(conversation=with_bot, text="where is my parcel")
    MessageFactory(conversation=with_bot, sender=Message.Sender.BOT, text="It ships in 2 days.")
    straight = ConversationFactory()
    MessageFactory(conversation=straight, text="a person please")

    assert handoff_request(conversation=with_bot, reason="asked").bot_answered_before is True
    assert handoff_request(conversation=straight, reason="asked").bot_answered_before is False


def _past_handoff(team, *, estimate: int, waited: int, days_ago: float = 1) -> Handoff:
    requested = timezone.now() - dt.timedelta(days=days_ago)
    handoff = Handoff.objects.create(
        conversation=ConversationFactory(),
        source=Handoff.Source.VISITOR,
        reason="history",
        team=team,
        status=Handoff.Status.RESOLVED,
        wait_estimate_seconds=estimate,
    )
    first = requested + dt.timedelta(seconds=waited)
    Handoff.objects.filter(pk=handoff.pk).update(requested_at=requested, first_assigned_at=first, assigned_at=first)
    return handoff


def test_the_promised_range_comes_from_how_far_real_waits_fell_from_estimates(open_team, make_agent):
    # Real waits of 0.5x .. 2.4x the estimate, evenly: percentile_cont(0.1) and (0.9) of the ratio.
    ratios = [0.5 + 0.1 * i for i in range(20)]
    for ratio in ratios:
        _past_handoff(open_team, estimate=100, waited=round(100 * ratio))
    _past_handoff(open_team, estimate=100, waited=10_000, days_ago=40)  # older than the 30 days looked at

    low, high = wait_range_factors(team=open_team)

    assert low == pytest.approx(0.69) and high == pytest.approx(2.21)
    make_agent("Dana", capacity=1)
    info = TeamQueue.now(team=open_team).info(position=10)  # 10 x 6 min per slot = 60 min
    assert (info.wait_low_seconds, info.wait_high_seconds) == (41 * 60, 133 * 60)
    assert "(between 41 and 133 minutes)" in wait_text(info)


def test_too_little_history_gives_the_default_range(open_team):
    for _ in range(19):
        _past_handoff(open_team, estimate=100, waited=1000)
    assert wait_range_factors(team=open_team) == DEFAULT_RANGE_FACTORS


def test_the_agent_who_handled_it_labels_the_handoff_and_can_change_the_label(conversation, make_agent):
    dana = make_agent("Dana")
    handoff = handoff_request(conversation=conversation, reason="Visitor asked")
    handoff_assign(handoff=handoff, agent=dana)
    with pytest.raises(HandoffError, match="still open"):
        handoff_verdict_set(handoff=handoff, verdict=Handoff.Verdict.NEEDED, user=dana.user)
    handoff_resolve(conversation=conversation)

    handoff_verdict_set(handoff=handoff, verdict=Handoff.Verdict.BOT_COULD_ANSWER, user=dana.user)
    handoff_verdict_set(handoff=handoff, verdict=Handoff.Verdict.NEEDED, user=dana.user)  # the wrong click undone

    handoff.refresh_from_db()
    assert (handoff.verdict, handoff.verdict_by) == (Handoff.Verdict.NEEDED, dana.user)
    assert handoff.verdict_at is not None


def test_another_agent_cannot_label_someone_elses_handoff_and_nonsense_is_refused(conversation, make_agent):
    dana, sam = make_agent("Dana"), make_agent("Sam")
    handoff = handoff_request(conversation=conversation, reason="Visitor asked")
    handoff_assign(handoff=handoff, agent=dana)
    handoff_resolve(conversation=conversation)

    with pytest.raises(HandoffError, match="Only the agent who handled"):
        handoff_verdict_set(handoff=handoff, verdict=Handoff.Verdict.NEEDED, user=sam.user)
    with pytest.raises(HandoffError, match="Choose one of"):
        handoff_verdict_set(handoff=handoff, verdict="maybe", user=dana.user)
    manager = UserFactory(username="morgan", is_staff=True, is_superuser=True)
    handoff_verdict_set(handoff=handoff, verdict=Handoff.Verdict.TOO_LATE, user=manager)
    assert Handoff.objects.get(pk=handoff.pk).verdict == Handoff.Verdict.TOO_LATE
