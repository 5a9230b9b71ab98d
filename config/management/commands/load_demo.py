"""`manage.py load_demo`: the demo company's teams, people and knowledge base. Safe to run again."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from agents.models import Agent, BusinessHours, CannedResponse, Team
from knowledge.demo import load_demo_knowledge_base

DEMO_PASSWORDS = {"manager": "handoff-manager", "dana": "handoff-dana", "sam": "handoff-sam"}

TEAMS = [
    # name, slug, skills, time zone, (weekdays, opens, closes)
    (
        "Customer Support",
        "support",
        ["orders", "shipping", "returns", "account"],
        "Europe/London",
        (range(0, 5), dt.time(8, 0), dt.time(20, 0)),
    ),
    (
        "Billing",
        "billing",
        ["billing", "refunds", "payments", "cancellation"],
        "Europe/London",
        (range(0, 5), dt.time(9, 0), dt.time(17, 0)),
    ),
    (
        "Technical",
        "technical",
        ["technical", "login", "app", "bug"],
        "America/New_York",
        (range(0, 7), dt.time(0, 0), dt.time(23, 59)),
    ),
]

PEOPLE = [
    # username, first, last, staff/manager, teams
    ("manager", "Morgan", "Lee", True, ["support", "billing", "technical"]),
    ("dana", "Dana", "Whitfield", False, ["support", "billing"]),
    ("sam", "Sam", "Okafor", False, ["support", "technical"]),
]


CANNED = [
    ("Greeting", "hello", "Hi, thanks for waiting! I've read your conversation with our assistant. Let me help."),
    ("Refund timing", "refund", "Refunds go back to your original payment method within 5 business days."),
    ("Order lookup", "order", "Could you share your order number (it starts with NW-)? I'll check it right away."),
    ("Closing", "bye", "Is there anything else I can help with today? Have a great day!"),
]


class Command(BaseCommand):
    help = "Load the demo company (Northwind Outfitters): teams with business hours, a manager and two agents."

    @transaction.atomic
    def handle(self, *args, **options):
        teams = {}
        for name, slug, skills, tz, (weekdays, opens, closes) in TEAMS:
            team, _ = Team.objects.update_or_create(
                slug=slug, defaults={"name": name, "skills": skills, "time_zone": tz}
            )
            for weekday in weekdays:
                BusinessHours.objects.get_or_create(team=team, weekday=weekday, opens_at=opens, closes_at=closes)
            teams[slug] = team

        User = get_user_model()
        for username, first, last, is_manager, team_slugs in PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@northwind.example"},
            )
            # Managers are superusers (the admin, and MANAGER_PERMISSION: every team and the reports);
            # agents use the inbox only.
            user.is_staff = is_manager
            user.is_superuser = is_manager
            if created:
                user.set_password(DEMO_PASSWORDS[username])
            user.save()
            agent, _ = Agent.objects.get_or_create(user=user, defaults={"display_name": first})
            agent.teams.set([teams[slug] for slug in team_slugs])

        for title, shortcut, text in CANNED:
            CannedResponse.objects.update_or_create(
                shortcut=shortcut, team=None, defaults={"title": title, "text": text}
            )

        count = load_demo_knowledge_base()
        self.stdout.write(f"Knowledge base: {count} demo articles.")

        self.stdout.write(self.style.SUCCESS("Demo data loaded. Development sign-ins (change them outside a laptop):"))
        for username, password in DEMO_PASSWORDS.items():
            self.stdout.write(f"  {username:<8} / {password}")
