from django.core.management.base import BaseCommand, CommandError

from api.email_channel.imap import MailboxError, email_fetch


class Command(BaseCommand):
    help = "Take in the unseen emails of the IMAP mailbox (EMAIL_IMAP_*) once; beat does it every minute."

    def handle(self, *args, **options):
        try:
            counts = email_fetch()
        except MailboxError as error:
            raise CommandError(str(error)) from error
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "no new email"
        self.stdout.write(summary)
