"""`manage.py rebuild_report_facts`: recompute every conversation's outcome inputs from its rows.

The write path keeps them current; run this after writing rows past the services (a restore, an
import, a hand-made fix in SQL). Safe to run at any time: it sets each input to what the rows say.
"""

from django.core.management.base import BaseCommand

from reports.facts import outcome_facts_rebuild


class Command(BaseCommand):
    help = "Recompute every conversation's report outcome inputs from its messages, events, handoffs and ratings."

    def handle(self, *args, verbosity: int, **options) -> None:
        rebuilt = outcome_facts_rebuild()
        if verbosity:
            self.stdout.write(f"Rebuilt the outcome inputs of {rebuilt:,} conversations.")
