"""Each formula of reports/metrics.py against a story whose right answer is worked out by hand."""

from decimal import Decimal

import pytest

from chat.models import Conversation
from handoff.models import Handoff, HandoffEvent
from reports import metrics
from reports.durations import duration_text
from reports.metrics import AbandonReason, Cohort, Period
from reports.report import report_as_dict, report_build
from reports.roi import RoiInputs, roi_compute
from tests.reports.conftest import NOW

DAY = 60 * 24  # minutes
Status = Handoff.Status


def last_30_days(team=None) -> Period:
    return Period.last(30, now=NOW, team=team)


def one_of_each_cohort(story) -> dict[str, Conversation]:
    c = {}
    c["bot_only"] = story.conversation(started=DAY)
    story.bot_answer(c["bot_only"])
    story.resolve(c["bot_only"], at=DAY - 10)

    c["declined"] = story.conversation(started=DAY)
    story.bot_answer(c["declined"])
    story.bot_answer(c["declined"], declined=True)
    story.resolve(c["declined"], at=DAY - 10)  # idle auto-resolve after the decline: not contained

    c["thumbs_down"] = story.conversation(started=DAY)
    story.bot_answer(c["thumbs_down"], feedback="down")
    story.bot_answer(c["thumbs_down"])
    story.resolve(c["thumbs_down"], at=DAY - 10)

    c["bot_then_human"] = story.conversation(started=DAY)
    story.bot_answer(c["bot_then_human"])
    story.handoff(c["bot_then_human"], requested=DAY - 5, assigned=DAY - 6, ended=DAY - 20, bot_before=True)

    c["human_only"] = story.conversation(started=DAY)
    story.handoff(c["human_only"], requested=DAY, assigned=DAY - 2, ended=DAY - 20, bot_before=False)

    c["reopened"] = story.conversation(started=3 * DAY)
    story.bot_answer(c["reopened"])
    story.resolve(c["reopened"], at=3 * DAY - 10)
    story.event(c["reopened"], HandoffEvent.Action.REOPEN, at=2 * DAY)  # one day later: within 7 days

    c["reopened_late"] = story.conversation(started=20 * DAY)
    story.bot_answer(c["reopened_late"])
    story.resolve(c["reopened_late"], at=20 * DAY - 10)
    story.event(c["reopened_late"], HandoffEvent.Action.REOPEN, at=10 * DAY)  # ten days later: a new need
    Conversation.objects.filter(pk=c["reopened_late"].pk).update(status=Conversation.Status.BOT)

    c["queued"] = story.conversation(started=DAY, status=Conversation.Status.QUEUED, active=DAY - 1)
    story.handoff(c["queued"], requested=DAY - 1, status=Status.QUEUED, promise=(300, 150, 600))

    c["email"] = story.conversation(started=DAY, active=DAY - 3)
    story.bot_answer(c["email"])
    story.handoff(c["email"], requested=DAY - 1, ended=DAY - 3, status=Status.HANDED_BACK, email_asked=True)

    c["left"] = story.conversation(started=DAY, active=DAY - 1)
    story.bot_answer(c["left"])

    c["in_progress"] = story.conversation(started=30, active=5)
    story.bot_answer(c["in_progress"])

    story.conversation(started=40 * DAY)  # before the period: in none of its cohorts
    return c


def test_every_conversation_is_in_exactly_one_cohort(story):
    conversations = one_of_each_cohort(story)

    cohorts = metrics.conversation_cohorts(period=last_30_days(), now=NOW)
    by_name = {name: cohorts[c.pk][0] for name, c in conversations.items()}

    assert by_name == {
        "bot_only": Cohort.BOT_ONLY,
        "declined": Cohort.ABANDONED,
        "thumbs_down": Cohort.ABANDONED,
        "bot_then_human": Cohort.BOT_THEN_HUMAN,
        "human_only": Cohort.HUMAN_ONLY,
        "reopened": Cohort.REOPENED,
        "reopened_late": Cohort.BOT_ONLY,  # reopened after the window: the first resolution stands
        "queued": Cohort.ABANDONED,
        "email": Cohort.ABANDONED,
        "left": Cohort.ABANDONED,
        "in_progress": Cohort.IN_PROGRESS,
    }


def test_abandoned_conversations_say_why_and_declines_and_thumbs_down_are_not_containment(story):
    one_of_each_cohort(story)

    outcomes = metrics.outcomes(period=last_30_days(), now=NOW)

    assert outcomes.abandoned_by_reason == {
        AbandonReason.AFTER_EMAIL_ASK: 1,
        AbandonReason.WHILE_QUEUED: 1,
        AbandonReason.AFTER_DECLINE: 1,
        AbandonReason.AFTER_THUMBS_DOWN: 1,
        AbandonReason.LEFT: 1,
    }
    assert outcomes.by_cohort[Cohort.BOT_ONLY] == 2


def test_rates_use_the_finished_conversations_and_the_resolved_ones(story):
    one_of_each_cohort(story)

    outcomes = metrics.outcomes(period=last_30_days(), now=NOW)

    assert (outcomes.conversations, outcomes.finished) == (11, 10)  # one is still in progress
    assert outcomes.automation_rate == 0.2  # 2 bot only / 10 finished
    assert outcomes.abandonment_rate == 0.5  # 5 abandoned / 10 finished
    assert outcomes.reopen_rate == 0.2  # 1 reopened / 5 resolved (2 bot only, 1 + 1 with a person, 1 reopened)
    assert sum(outcomes.by_cohort.values()) == outcomes.conversations


def test_the_reopen_window_comes_from_the_setting(story, settings):
    conversations = one_of_each_cohort(story)
    settings.REPORTS_REOPEN_DAYS = 14

    cohorts = metrics.conversation_cohorts(period=last_30_days(), now=NOW)

    assert cohorts[conversations["reopened_late"].pk][0] == Cohort.REOPENED


def test_csat_per_cohort_keeps_the_bot_and_people_apart_with_response_rates(story):
    c = one_of_each_cohort(story)
    story.rating(c["bot_only"], 4)
    story.rating(c["declined"], 1)  # asked at its resolution; it counts in the bot's CSAT, in the abandoned cohort
    story.rating(c["bot_then_human"], 5, handoff=c["bot_then_human"].handoffs.get())

    outcomes = metrics.outcomes(period=last_30_days(), now=NOW)
    rows = {row.cohort: row for row in outcomes.cohorts}

    assert (outcomes.csat_bot, outcomes.csat_bot_responses) == (2.5, 2)
    assert (outcomes.csat_human, outcomes.csat_human_responses) == (5.0, 1)
    assert (rows["bot_only"].csat, rows["bot_only"].csat_response_rate) == (4.0, 0.5)  # 1 of 2 answered
    assert (rows["bot_then_human"].csat, rows["bot_then_human"].csat_response_rate) == (5.0, 1.0)
    assert (rows["human_only"].csat, rows["human_only"].csat_response_rate) == (None, 0.0)


def test_the_daily_series_has_volume_and_automation(story):
    one_of_each_cohort(story)

    days = {row.day: row for row in metrics.outcomes(period=last_30_days(), now=NOW).by_day}

    yesterday = max(day for day in days if days[day].conversations == 8)
    assert (days[yesterday].bot_only, days[yesterday].finished) == (1, 8)
    assert days[yesterday].automation_rate == 0.125


def test_times_are_percentiles_of_the_person_part_only(story):
    # The bot talked for 100 minutes before each request: none of it is handling time.
    first = story.conversation(started=200)
    story.bot_answer(first)
    story.handoff(first, requested=100, assigned=90, replied=88, ended=60)
    second = story.conversation(started=300)
    story.bot_answer(second)
    story.handoff(second, requested=100, assigned=80, replied=70, ended=20)
    unanswered = story.conversation(started=100, status=Conversation.Status.QUEUED, active=1)
    story.handoff(unanswered, requested=50, status=Status.QUEUED)  # no wait yet: left out, not counted as 0

    times = metrics.times(period=last_30_days())
    outcomes = metrics.outcomes(period=last_30_days(), now=NOW)

    assert times.handoffs == 3
    assert (times.wait_p50, times.wait_p90) == (15 * 60, 19 * 60)  # waits of 10 and 20 minutes
    assert (times.first_response_p50, times.first_response_p90) == (21 * 60, pytest.approx(28.2 * 60))
    assert (times.handling_p50, times.handling_mean) == (45 * 60, 45 * 60)  # 30 and 60 minutes
    assert outcomes.resolution_p50 == 210 * 60  # 140 and 280 minutes, from the conversation's start


def test_waits_by_hour_cover_the_whole_day(story):
    conversation = story.conversation(started=200)
    story.handoff(conversation, requested=100, assigned=90, ended=60)

    hours = metrics.waits_by_hour(period=last_30_days())

    assert len(hours) == 24
    busy = [row for row in hours if row.handoffs]
    assert len(busy) == 1 and busy[0].wait_p50 == 600


def test_wait_promises_report_mean_absolute_error_and_the_share_inside_the_range(story):
    billing, support = story.team("Billing"), story.team("Support")
    promise = (300, 150, 600)
    for real_wait in (200, 700, 300, 100):  # errors 100, 400, 0, 200; inside the range: 200 and 300
        conversation = story.conversation(started=200)
        assigned = 100 - real_wait / 60
        story.handoff(conversation, requested=100, assigned=assigned, ended=10, promise=promise, team=billing)
    gone = story.conversation(started=200, status=Conversation.Status.QUEUED)
    story.handoff(gone, requested=100, status=Status.QUEUED, promise=promise, team=billing)  # nobody came
    closed = story.conversation(started=200, status=Conversation.Status.QUEUED)
    story.handoff(closed, requested=100, status=Status.QUEUED, email_asked=True, team=billing)
    exact = story.conversation(started=200)
    story.handoff(exact, requested=100, assigned=99, ended=10, promise=(60, 30, 120), team=support)

    rows = {row.team: row for row in metrics.wait_promises(period=last_30_days())}

    assert rows["Billing"].promised == 4
    assert rows["Billing"].mean_absolute_error == pytest.approx(175, abs=0.01)
    assert (rows["Billing"].inside_range, rows["Billing"].inside_share) == (2, 0.5)
    assert (rows["Billing"].unserved, rows["Billing"].email_asked) == (1, 1)
    assert rows["Support"].inside_share == 1.0
    assert rows["All teams"].promised == 5
    assert rows["All teams"].mean_absolute_error == pytest.approx(140, abs=0.01)
    assert rows["All teams"].inside_share == 0.6


def test_trigger_precision_comes_from_the_agents_verdicts(story):
    angry, vip = story.rule("Angry visitor"), story.rule("VIP tag")
    for verdict in ("needed", "bot_could_answer", "too_late", ""):
        conversation = story.conversation(started=200)
        story.firing(angry, conversation, decided=True)
        handoff = story.handoff(conversation, requested=100, assigned=90, ended=50, rule=angry, verdict=verdict)
    story.rating(conversation, 5, handoff=handoff)
    story.firing(angry, story.conversation(started=200))  # fired while a person had it: no handoff
    for _ in range(2):
        story.firing(vip, story.conversation(started=200))
    for _ in range(2):
        story.handoff(story.conversation(started=200), requested=100, assigned=90, ended=50)

    conversations = metrics.outcomes(period=last_30_days(), now=NOW).conversations
    rows = {row.label: row for row in metrics.triggers(period=last_30_days(), conversations=conversations)}

    assert conversations == 9
    angry_row = rows["Angry visitor"]
    assert (angry_row.firings, angry_row.handoffs, angry_row.labelled) == (5, 4, 3)
    assert (angry_row.needed, angry_row.bot_could_answer, angry_row.too_late) == (1, 1, 1)
    assert angry_row.precision == pytest.approx(0.6667)  # needed + too late, of the labelled
    assert angry_row.handoff_rate == pytest.approx(0.4444)
    assert (angry_row.csat, angry_row.csat_responses) == (5.0, 1)
    assert (rows["VIP tag"].firings, rows["VIP tag"].handoffs, rows["VIP tag"].precision) == (2, 0, None)
    assert rows["Visitor asked"].handoffs == 2 and rows["Visitor asked"].rule_id is None


def test_per_agent_and_per_team_figures(story):
    support = story.team("Support")
    dana, sam = story.agent("Dana", support), story.agent("Sam", support)
    first = story.conversation(started=3 * DAY)
    h1 = story.handoff(first, requested=3 * DAY, assigned=3 * DAY - 10, replied=3 * DAY - 12, ended=3 * DAY - 40,
                       agent=dana, team=support)  # fmt: skip
    story.event(first, HandoffEvent.Action.REOPEN, at=2 * DAY)  # the visitor came back the next day
    second = story.conversation(started=DAY)
    h2 = story.handoff(second, requested=DAY, assigned=DAY - 10, replied=DAY - 14, ended=DAY - 70, agent=dana,
                       team=support)  # fmt: skip
    third = story.conversation(started=DAY)
    story.handoff(third, requested=DAY, assigned=DAY - 1, replied=DAY - 2, ended=DAY - 11, agent=sam, team=support)
    story.rating(first, 4, handoff=h1)
    story.rating(second, 2, handoff=h2)

    agents = {row.name: row for row in metrics.per_agent(period=last_30_days())}
    teams = {row.name: row for row in metrics.per_team(period=last_30_days())}

    assert (agents["Dana"].handoffs, agents["Dana"].resolved) == (2, 2)
    assert agents["Dana"].first_response_p50 == 13 * 60  # 12 and 14 minutes after the request
    assert agents["Dana"].handling_p50 == 45 * 60  # 30 and 60 minutes
    assert (agents["Dana"].csat, agents["Dana"].reopened, agents["Dana"].reopen_rate) == (3.0, 1, 0.5)
    assert (agents["Sam"].handling_p50, agents["Sam"].csat, agents["Sam"].reopen_rate) == (600, None, 0.0)
    assert (teams["Support"].handoffs, teams["Support"].reopened) == (3, 1)


def test_the_team_filter_keeps_that_teams_conversations_and_handoffs(story):
    billing, support = story.team("Billing"), story.team("Support")
    for team in (billing, support, support):
        story.handoff(story.conversation(started=200), requested=100, assigned=90, ended=50, team=team)
    story.bot_answer(bot_only := story.conversation(started=200))
    story.resolve(bot_only, at=150)

    assert metrics.outcomes(period=last_30_days(support), now=NOW).conversations == 2
    assert metrics.times(period=last_30_days(support)).handoffs == 2
    assert metrics.outcomes(period=last_30_days(), now=NOW).conversations == 4


def test_the_comparison_is_the_same_length_just_before(story):
    story.handoff(story.conversation(started=35 * DAY), requested=35 * DAY, assigned=35 * DAY - 5, ended=35 * DAY - 9)
    story.handoff(story.conversation(started=DAY), requested=DAY, assigned=DAY - 5, ended=DAY - 9)
    story.handoff(story.conversation(started=DAY), requested=DAY, assigned=DAY - 5, ended=DAY - 9)

    report = report_build(period=last_30_days(), now=NOW)

    assert (report.headline.conversations, report.previous.conversations) == (2, 1)
    assert report.previous.wait_p50 == 300
    data = report_as_dict(report)
    assert data["headline"]["conversations"] == 2 and data["roi"]["money_saved"] == "0.00"


def test_roi_from_the_measured_automation_and_handling_time():
    roi = roi_compute(
        inputs=RoiInputs(
            cost_per_enquiry=Decimal("6"), hourly_cost=Decimal("30"), assistant_monthly_cost=Decimal("300")
        ),
        bot_resolved=100,
        automation_rate=0.4,
        handling_mean_seconds=1800,
        conversations=250,
        period_days=30,
    )

    assert roi.agent_hours_saved == 50.0  # 100 conversations x 30 minutes
    assert roi.hours_value == Decimal("1500.00")
    assert roi.money_saved == Decimal("600.00")  # 100 x 6
    assert roi.assistant_cost == Decimal("300.00")
    assert roi.roi == 1.0  # (600 - 300) / 300
    assert roi.monthly_volume == 250
    assert roi.projected_monthly_saving == Decimal("600.00")  # 250 x 0.4 x 6


def test_roi_without_measurements_says_so_instead_of_inventing_numbers():
    roi = roi_compute(
        inputs=RoiInputs(monthly_volume=1000, assistant_monthly_cost=Decimal("0")),
        bot_resolved=0,
        automation_rate=None,
        handling_mean_seconds=None,
        conversations=0,
        period_days=7,
    )
    assert (roi.agent_hours_saved, roi.roi, roi.projected_monthly_saving) == (None, None, None)
    assert roi.monthly_volume == 1000


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "\N{EN DASH}"), (12.4, "12 s"), (59.6, "1 min"), (1032.2, "17 min"), (3600, "1 h"), (7500, "2 h 5 min"),
     (90000, "1 d 1 h"), (172800, "2 d")],
)  # fmt: skip
def test_durations_read_as_people_say_them(seconds, text):
    assert duration_text(seconds) == text
