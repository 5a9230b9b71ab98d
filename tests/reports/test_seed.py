from django.core.management import call_command
from django.utils import timezone

from chat.models import Conversation, Message
from handoff.models import Handoff
from reports.metrics import Cohort, Period, conversation_cohorts
from reports.report import report_build
from tests.reports.test_facts import cohorts_by_definition


def test_the_seed_fills_every_cohort_and_the_report_reads_it(db):
    call_command("seed_reports", conversations=600, messages_per_conversation=8, days=30, verbosity=0)

    assert Conversation.objects.count() == 600
    assert Message.objects.count() >= 600 * 4
    assert not Message.objects.filter(sender="visitor", handled_at__isnull=True).exists()  # no sweep work
    assert Handoff.objects.filter(verdict="needed").exists()
    report = report_build(period=Period.last(31))
    assert report.outcomes.conversations == 600
    assert all(report.outcomes.by_cohort[c] for c in Cohort if c != Cohort.IN_PROGRESS)
    assert report.promises[-1].promised > 0 and report.triggers[0].handoffs > 0
    # The sequences moved past the copied ids: an ordinary insert still works.
    Conversation.objects.create(customer=Conversation.objects.first().customer)


def test_the_seeded_history_has_its_outcome_inputs_and_the_command_rebuilds_them(db):
    call_command("seed_reports", conversations=300, messages_per_conversation=6, days=20, verbosity=0)
    period = Period.last(21)
    seeded = conversation_cohorts(period=period)
    Conversation.objects.update(first_resolved_at=None, bot_answered=False, handoff_resolved=False)
    Handoff.objects.update(csat_score=None)
    wiped_agents = report_build(period=period).agents

    call_command("rebuild_report_facts", verbosity=0)

    assert conversation_cohorts(period=period) == seeded == cohorts_by_definition(period, now=timezone.now())
    assert report_build(period=period).agents != wiped_agents  # the handoffs' CSAT came back too
