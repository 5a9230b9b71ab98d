from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.models import ApiToken
from api.tokens import api_token_issue


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only this once; admin can revoke it)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line")
        parser.add_argument("--scopes", default="read,write", help="Comma-separated: read, write, channel.")

    def handle(self, *args, username: str, name: str, scopes: str, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        unknown = set(wanted) - set(ApiToken.Scope.values)
        if unknown:
            raise CommandError(f"Unknown scopes {', '.join(sorted(unknown))}; use read, write, channel.")
        self.stdout.write(api_token_issue(token=ApiToken(user=user, name=name, scopes=wanted)))
