import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import Q

# Full-text search of messages (the inbox's search): English stemming, so "refunds" finds "refund".
SEARCH_CONFIG = "english"

# A visitor's thumbs-down on a bot answer (Message.metadata["feedback"]): triggers and reports read it.
NEGATIVE_FEEDBACK_VALUES = ("negative", "down", "unhelpful")
THUMBS_DOWN = Q(sender="bot", metadata__feedback__in=NEGATIVE_FEEDBACK_VALUES)


class Customer(models.Model):
    """A visitor, anonymous until they tell us who they are (or the host site does)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    external_id = models.CharField("CRM id", max_length=200, blank=True, db_index=True)
    # Free-form facts from the host site or CRM: plan, lifetime_value, tier, ... (trigger rules read them).
    attributes = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    # Signed into every widget token; raising it revokes the tokens issued before (widget/tokens.py).
    token_version = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name or self.email or f"Visitor {str(self.public_id)[:8]}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot", "With the bot"
        QUEUED = "queued", "Waiting for a person"
        ASSIGNED = "assigned", "With a person"
        RESOLVED = "resolved", "Resolved"

    class Channel(models.TextChoices):  # what each means, and how replies get back: chat/channels.py
        WEB = "web", "Web widget"
        API = "api", "API"
        EMAIL = "email", "Email"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOT, db_index=True)
    # Highest seq handed out so far; incremented in the same UPDATE that reserves a new seq,
    # which serialises concurrent writers on this row and keeps seq gap-free and monotonic.
    last_seq = models.PositiveIntegerField(default=0)
    tags = models.JSONField(default=list, blank=True)
    # Copied from its current handoff by the handoff lifecycle (handoff.services._record), so the
    # inbox's lists are one indexed query: the team whose agents see it (of its latest handoff;
    # None before any), who holds it now, and how urgent it is.
    team = models.ForeignKey("agents.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.SmallIntegerField(default=0)
    # Since when the visitor has been waiting for a person: set when they are queued (or write
    # while a person has the conversation), cleared by an agent's reply and when it ends. The
    # inbox's timers and SLA colours count from it.
    waiting_since = models.DateTimeField(null=True, blank=True)
    # Snoozed by an agent: out of the lists until snoozed_until, or (snoozed_until empty) until
    # the visitor writes again; a visitor's message always wakes it.
    snoozed_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Running sentiment of the visitor's messages (-1 very negative .. 1 very positive).
    sentiment = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # The inputs of the reports' outcome cohort (reports/metrics.py), kept by the conversation-level
    # events that change them (chat.services.message_create for the bot's answers, in the UPDATE it
    # already makes; handoff.services for transitions and ratings), so a report reads one row per
    # conversation instead of its messages, events, handoffs and ratings. `manage.py
    # rebuild_report_facts` recomputes them from those rows (reports/facts.py).
    first_resolved_at = models.DateTimeField(null=True, blank=True)  # its first "resolve" event
    first_reopened_at = models.DateTimeField(null=True, blank=True)  # its first "reopen" event
    bot_answered = models.BooleanField(default=False)
    bot_last_declined = models.BooleanField(default=False)  # the bot's latest answer was a decline
    handoff_resolved = models.BooleanField(default=False)  # one of its handoffs ended "resolved"
    handoff_resolved_after_bot = models.BooleanField(default=False)  # ... one the bot had answered before
    handoff_unserved = models.BooleanField(default=False)  # a handoff nobody took that was not resolved
    handoff_unserved_email_ask = models.BooleanField(default=False)  # ... on which an email was asked for
    csat_bot = models.PositiveSmallIntegerField(null=True, blank=True)  # the latest rating of the bot
    csat_human = models.PositiveSmallIntegerField(null=True, blank=True)  # ... and of a person

    class Meta:
        ordering = ["-last_activity_at"]
        indexes = [
            models.Index(fields=["team", "status", "-priority", "waiting_since"], name="conversation_inbox"),
            models.Index(fields=["created_at"], name="conversation_created"),  # the reports' periods
            GinIndex(fields=["tags"], name="conversation_tags"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} ({self.get_status_display()})"


class Message(models.Model):
    class Sender(models.TextChoices):
        VISITOR = "visitor", "Visitor"
        BOT = "bot", "Bot"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender = models.CharField(max_length=20, choices=Sender.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    # Chosen by the client; a retried send with the same id returns the stored message.
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The bot's sources and confidence, trigger details and the like.
    metadata = models.JSONField(default=dict, blank=True)
    sentiment = models.FloatField(null=True, blank=True)
    # A visitor message: when the pipeline finished with it (answered, handed off, or passed to the
    # person who has the conversation). Set in the same transaction as the bot's reply, so an answer
    # is stored once however often the work is retried; the answer sweep (widget.answering) picks up
    # every visitor message still without it.
    handled_at = models.DateTimeField(null=True, blank=True)
    # Kept by PostgreSQL itself, for the inbox's search.
    search = models.GeneratedField(
        expression=SearchVector("text", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["conversation", "seq"]
        indexes = [
            GinIndex(fields=["search"], name="message_search"),
            # The answer sweep's query: a handful of rows, found without reading every message.
            models.Index(
                fields=["created_at"],
                condition=Q(sender="visitor", handled_at__isnull=True),
                name="message_unhandled",
            ),
            # The reports' outcome cohorts read which conversations had a thumbs-down (it can be
            # taken back, so it is read, not kept): only those messages are in the index.
            models.Index(fields=["conversation"], condition=THUMBS_DOWN, name="message_thumbs_down"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=~Q(client_id=""),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.sender}: {self.text[:60]}"
