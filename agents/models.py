import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/London)")


# Managers see every team's conversations and the reports. Staff status alone only opens the admin
# (its pages still need their model permissions): a manager is a staff user holding this permission,
# given by the "Managers" group (agents/migrations/0006) or a superuser.
MANAGER_PERMISSION = "agents.manage_all_teams"
MANAGERS_GROUP = "Managers"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(unique=True)
    # Topics this team handles (billing, technical, ...); routing and triggers match on them.
    skills = models.JSONField(default=list, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    out_of_hours_message = models.TextField(
        blank=True,
        default="Our team is offline right now. Leave your email and we will reply as soon as we are back.",
    )

    class Meta:
        permissions = [("manage_all_teams", "Can see every team's conversations and the reports (a manager)")]

    def __str__(self) -> str:
        return self.name


class BusinessHours(models.Model):
    """One opening window on one weekday, in the team's time zone."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="business_hours")
    weekday = models.IntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["team", "weekday", "opens_at"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="hours_close_after_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Holiday(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["team", "date"], name="holiday_unique_per_team")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Agent(models.Model):
    class Status(models.TextChoices):
        ONLINE = "online", "Online"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    display_name = models.CharField(max_length=100, blank=True, help_text="The name visitors see.")
    teams = models.ManyToManyField(Team, related_name="agents", blank=True)
    skills = models.JSONField(default=list, blank=True)
    max_concurrent = models.PositiveSmallIntegerField(default=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OFFLINE, db_index=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # When and why the status last changed when the agent did not choose it ("All inbox tabs
    # closed"): the inbox tells them so when they come back. Empty when they chose it.
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=200, blank=True)
    # When routing last gave this agent a conversation: ties in load go to whoever waited longest.
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.public_name

    @property
    def public_name(self) -> str:
        return self.display_name or self.user.get_full_name() or self.user.get_username()


class InternalNote(models.Model):
    """A note agents leave on a conversation for each other. Never sent to the visitor."""

    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="internal_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class CannedResponse(models.Model):
    """A saved reply agents insert with a shortcut; shared by everyone, or by one team."""

    title = models.CharField(max_length=100)
    shortcut = models.SlugField(max_length=50, help_text="Typed after / in the reply box, e.g. /refund-policy.")
    text = models.TextField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="canned_responses")

    class Meta:
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["shortcut", "team"], name="canned_shortcut_unique_per_team")]

    def __str__(self) -> str:
        return self.title


class ConversationRead(models.Model):
    """How far an agent has read a conversation; unread counts are the visitor's messages after it."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="reads")
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    last_read_seq = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "conversation"], name="one_read_marker")]

    def __str__(self) -> str:
        return f"{self.agent} read conversation {self.conversation_id} to #{self.last_read_seq}"


class AgentConnection(models.Model):
    """One open inbox tab (WebSocket) of an agent; presence counts these across server processes."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    # Refreshed by the open socket (handoff.presence.CONNECTION_HEARTBEAT_SECONDS): a row its process
    # died with stops being refreshed, and the presence sweep removes it instead of believing it.
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.agent} via {self.channel_name}"
