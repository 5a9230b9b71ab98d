"""What a waiting visitor is told, at fixed clock times (HANDOFF_FIXED_CLOCK): closed and nobody
online are different things, and each gets the true sentence."""

import datetime as dt

import pytest

from agents.models import BusinessHours
from chat.models import Message
from handoff.services import handoff_request
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

TUESDAY_8AM = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # a Tuesday
TUESDAY_7AM = TUESDAY_8AM - dt.timedelta(hours=1)
TUESDAY_9PM = TUESDAY_8AM + dt.timedelta(hours=13)
SATURDAY_10AM = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def weekday_team(db):
    """Mon-Fri 08:00-20:00, nobody online."""
    team = TeamFactory(name="Customer Support", slug="support", time_zone="UTC")
    for weekday in range(5):
        BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(8), closes_at=dt.time(20))
    return team


def queued_notice(conversation) -> Message:
    handoff_request(conversation=conversation, reason="Visitor asked for a person")
    return conversation.messages.filter(sender=Message.Sender.SYSTEM).latest("seq")


def test_at_opening_time_with_nobody_online_someone_will_come_and_email_is_asked_later(
    conversation, weekday_team, settings
):
    settings.HANDOFF_FIXED_CLOCK = TUESDAY_8AM
    settings.HANDOFF_EMAIL_ASK_AFTER_SECONDS = 90

    notice = queued_notice(conversation)

    assert "offline" not in notice.text and "Our hours" not in notice.text
    assert "someone will be with you as soon as possible" in notice.text
    assert "number 1 in the queue" in notice.text
    assert notice.metadata["ask_email"] is False
    assert notice.metadata["wait"]["in_hours"] is True
    assert notice.metadata["wait"]["ask_email_in_seconds"] == 90


@pytest.mark.parametrize(
    ("clock", "back"),
    [
        (SATURDAY_10AM, "We're back Monday at 08:00."),
        (TUESDAY_7AM, "We're back today at 08:00."),
        (TUESDAY_9PM, "We're back tomorrow at 08:00."),
    ],
)
def test_outside_hours_the_visitor_is_told_when_the_team_opens_next(conversation, weekday_team, settings, clock, back):
    settings.HANDOFF_FIXED_CLOCK = clock

    notice = queued_notice(conversation)

    assert notice.text == f"{weekday_team.out_of_hours_message} {back}"
    assert notice.metadata["ask_email"] is True  # nobody before the morning: an email now
    assert notice.metadata["wait"]["in_hours"] is False
