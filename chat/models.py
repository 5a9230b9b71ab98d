import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


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

    def __str__(self) -> str:
        return self.name or self.email or f"Visitor {str(self.public_id)[:8]}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot", "With the bot"
        QUEUED = "queued", "Waiting for a person"
        ASSIGNED = "assigned", "With a person"
        RESOLVED = "resolved", "Resolved"

    class Channel(models.TextChoices):
        WEB = "web", "Web widget"
        EMAIL = "email", "Email"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOT, db_index=True)
    # Highest seq handed out so far; incremented in the same UPDATE that reserves a new seq,
    # which serialises concurrent writers on this row and keeps seq gap-free and monotonic.
    last_seq = models.PositiveIntegerField(default=0)
    tags = models.JSONField(default=list, blank=True)
    # Running sentiment of the visitor's messages (-1 very negative .. 1 very positive).
    sentiment = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-last_activity_at"]

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

    class Meta:
        ordering = ["conversation", "seq"]
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
