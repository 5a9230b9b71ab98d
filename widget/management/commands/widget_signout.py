"""`manage.py widget_signout <visitor>`: revoke every widget token of one visitor (see
widget.services.customer_tokens_revoke). The visitor is named by public id, email or CRM id."""

import contextlib
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from chat.models import Customer
from widget.services import customer_tokens_revoke


class Command(BaseCommand):
    help = "Sign a visitor out of the chat widget everywhere: their tokens stop working at the next connection."

    def add_arguments(self, parser):
        parser.add_argument("visitor", help="the customer's public id, email address or CRM id (external_id)")

    def handle(self, *args, visitor: str, **options):
        match = Q(email__iexact=visitor) | Q(external_id=visitor)
        with contextlib.suppress(ValueError):  # not a UUID: an email or CRM id
            match |= Q(public_id=uuid.UUID(visitor))
        customers = list(Customer.objects.filter(match)[:2])
        if not customers:
            raise CommandError(f"No visitor has the id, email or CRM id {visitor!r}.")
        if len(customers) > 1:
            raise CommandError(f"More than one visitor matches {visitor!r}; use their public id.")
        customer_tokens_revoke(customer=customers[0])
        self.stdout.write(f"Signed {customers[0]} out of the widget everywhere.")
