"""`manage.py triggers_install_defaults [--replace]`: (re)install the shipped default rules."""

from django.core.management.base import BaseCommand

from triggers.services import triggers_defaults_install


class Command(BaseCommand):
    help = "Install the default trigger rules that are missing (by name); --replace resets them too."

    def add_arguments(self, parser):
        parser.add_argument("--replace", action="store_true", help="overwrite default rules that exist")

    def handle(self, *args, replace: bool = False, **options):
        installed = triggers_defaults_install(replace=replace)
        self.stdout.write(f"Installed {len(installed)} default rule(s).")
