"""Fill the outcome inputs that chat 0007 and handoff 0007 added, for the conversations stored before."""

from django.db import migrations

from reports.facts import outcome_facts_rebuild


def backfill(apps, schema_editor) -> None:
    # The rebuild's SQL is today's (reports/facts.py), not a frozen copy: it only runs where there
    # are conversations to fill, i.e. once, on a database migrated from before these columns.
    if apps.get_model("chat", "Conversation").objects.exists():
        outcome_facts_rebuild()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("chat", "0007_report_outcome_inputs"),
        ("handoff", "0007_report_outcome_inputs"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
