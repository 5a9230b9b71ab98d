from django.core.management import call_command

from chat.models import Conversation, Message
from handoff.models import Handoff
from reports.metrics import Cohort, Period
from reports.report import report_build


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
