"""The weekly review sample: stratified, sized for about 30 minutes, stable, and marked by a reviewer."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from chat.models import Conversation, Message
from handoff.models import Handoff, SatisfactionRating
from knowledge.learning.review import SuggestionError
from knowledge.learning.selectors import weekly_review_progress
from knowledge.learning.weekly import week_start_of, weekly_review_mark, weekly_review_sample
from knowledge.models import WeeklyReviewItem
from tests.factories import ConversationFactory, MessageFactory

Stratum = WeeklyReviewItem.Stratum
MONDAY = date(2026, 11, 16)


def bot_conversation(*, on: date, feedback: str | None = None, handed_off=False, csat: int | None = None):
    conversation = ConversationFactory()
    MessageFactory(conversation=conversation, text="How long does delivery take?")
    metadata = {"reply_to": 1, "confidence": 0.9, **({"feedback": feedback} if feedback else {})}
    answer = MessageFactory(conversation=conversation, sender=Message.Sender.BOT, text="2-4 days.", metadata=metadata)
    at = timezone.make_aware(datetime.combine(on, datetime.min.time())) + timedelta(hours=10)
    Message.objects.filter(conversation=conversation).update(created_at=at)
    if handed_off:
        Handoff.objects.create(conversation=conversation, source="visitor", reason="Visitor asked")
    if csat is not None:
        Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.RESOLVED)
        SatisfactionRating.objects.create(conversation=conversation, subject="bot", score=csat)
    return answer.conversation


@pytest.mark.django_db
def test_the_sample_takes_equal_shares_of_each_stratum_and_fills_from_the_rest():
    expected = {
        Stratum.LOW_CSAT: [bot_conversation(on=MONDAY, csat=1) for _ in range(2)],  # short: 2 < its share
        Stratum.NEGATIVE_FEEDBACK: [bot_conversation(on=MONDAY, feedback="down") for _ in range(5)],
        Stratum.HANDED_OFF: [bot_conversation(on=MONDAY + timedelta(days=3), handed_off=True) for _ in range(5)],
        Stratum.RANDOM: [bot_conversation(on=MONDAY + timedelta(days=6)) for _ in range(10)],
    }
    bot_conversation(on=MONDAY - timedelta(days=1))  # the week before
    bot_conversation(on=MONDAY + timedelta(days=7))  # the week after

    items = weekly_review_sample(week_start=MONDAY + timedelta(days=2), size=12)

    assert len(items) == 12
    assert {item.week_start for item in items} == {MONDAY}
    counts = {stratum: sum(item.stratum == stratum for item in items) for stratum in Stratum.values}
    assert counts[Stratum.LOW_CSAT] == 2
    assert counts[Stratum.NEGATIVE_FEEDBACK] >= 3 and counts[Stratum.HANDED_OFF] >= 3 and counts[Stratum.RANDOM] >= 3
    in_week = {c.pk for group in expected.values() for c in group}
    assert {item.conversation_id for item in items} <= in_week
    for item in items:
        assert item.conversation_id in {c.pk for c in expected[item.stratum]}


@pytest.mark.django_db
def test_a_conversation_goes_to_its_most_telling_stratum():
    conversation = bot_conversation(on=MONDAY, feedback="down", handed_off=True, csat=2)

    (item,) = weekly_review_sample(week_start=MONDAY)

    assert (item.conversation_id, item.stratum) == (conversation.pk, Stratum.LOW_CSAT)


@pytest.mark.django_db
def test_sampling_again_keeps_the_verdicts_and_only_tops_up(manager):
    for _ in range(4):
        bot_conversation(on=MONDAY)
    first = weekly_review_sample(week_start=MONDAY, size=3)
    weekly_review_mark(item=first[0], reviewer=manager, verdict="on_brand", note="Friendly")

    again = weekly_review_sample(week_start=MONDAY, size=3)
    bigger = weekly_review_sample(week_start=MONDAY, size=10)

    assert [i.pk for i in again] == [i.pk for i in first]
    assert len(bigger) == 4
    assert WeeklyReviewItem.objects.get(pk=first[0].pk).verdict == "on_brand"


@pytest.mark.django_db
def test_marking_records_who_and_when_and_progress_counts_it(manager):
    for _ in range(3):
        bot_conversation(on=MONDAY)
    items = weekly_review_sample(week_start=MONDAY)

    weekly_review_mark(item=items[0], reviewer=manager, verdict="needs_work", note="Quoted the wrong article")
    weekly_review_mark(item=items[1], reviewer=manager, verdict="on_brand")

    progress = weekly_review_progress(week_start=MONDAY)
    assert str(progress) == "2 of 3 reviewed"
    assert (progress.on_brand, progress.needs_work) == (1, 1)
    marked = WeeklyReviewItem.objects.get(pk=items[0].pk)
    assert (marked.reviewer, marked.note, marked.reviewed_at is not None) == (manager, "Quoted the wrong article", True)

    cleared = weekly_review_mark(item=items[1], reviewer=manager, verdict="")
    assert cleared.reviewed_at is None
    with pytest.raises(SuggestionError, match="On brand"):
        weekly_review_mark(item=items[2], reviewer=manager, verdict="great")


def test_weeks_start_on_monday():
    assert week_start_of(date(2026, 11, 22)) == MONDAY  # a Sunday
    assert week_start_of(MONDAY) == MONDAY
