import datetime as dt
import zoneinfo

import pytest

from agents.hours import team_hours_text, team_is_open, team_next_opening
from agents.models import BusinessHours, Holiday
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")


@pytest.fixture
def weekday_team():
    team = TeamFactory(time_zone="Europe/London")
    for weekday in range(5):
        BusinessHours.objects.create(team=team, weekday=weekday, opens_at=dt.time(9), closes_at=dt.time(17))
    return team


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


def test_a_team_is_open_inside_its_hours_in_its_own_time_zone(weekday_team):
    assert team_is_open(team=weekday_team, at=at(2026, 11, 25, 10, 0))  # a Wednesday
    assert not team_is_open(team=weekday_team, at=at(2026, 11, 25, 17, 0))  # closing time is exclusive
    assert not team_is_open(team=weekday_team, at=at(2026, 11, 28, 10, 0))  # Saturday
    # 09:30 in New York is 14:30 in London: open.
    assert team_is_open(
        team=weekday_team, at=dt.datetime(2026, 11, 25, 9, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    )


def test_a_holiday_closes_the_team_all_day(weekday_team):
    Holiday.objects.create(team=weekday_team, date=dt.date(2026, 12, 25), name="Christmas")
    assert not team_is_open(team=weekday_team, at=at(2026, 12, 25, 10, 0))


def test_the_next_opening_skips_weekends_and_holidays(weekday_team):
    Holiday.objects.create(team=weekday_team, date=dt.date(2026, 11, 30))  # the Monday
    opening = team_next_opening(team=weekday_team, at=at(2026, 11, 27, 18, 0))  # Friday evening
    assert opening == at(2026, 12, 1, 9, 0)


def test_hours_are_described_for_visitors(weekday_team):
    assert team_hours_text(team=weekday_team) == "Mon-Fri 09:00-17:00 (Europe/London)"
