import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token itself is shown once, when created.

    A token acts as its user: an agent's token sees the conversations the agent sees in the inbox,
    a manager's sees everything. Scopes narrow it further (a read-only token for a dashboard).
    """

    class Scope(models.TextChoices):
        READ = "read", "Read (GET)"
        WRITE = "write", "Write (change conversations, customers, the knowledge base, rules)"
        CHANNEL = "channel", "API channel (create conversations and post visitor messages)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. “CRM sync” or “WhatsApp bridge”.")
    # The first characters of the token, so a person can tell their tokens apart; not a secret.
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=20, choices=Scope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# --- Webhooks ------------------------------------------------------------------------------------------------


def webhook_secret_default() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL that receives signed events (see docs/webhooks.md), registered by a manager in admin."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="https://… (private and loopback addresses are refused).")
    # Readable, because every delivery is signed with it; admin shows it to managers only.
    secret = models.CharField(max_length=100, default=webhook_secret_default)
    events = ArrayField(
        models.CharField(max_length=40),
        default=list,
        blank=True,
        help_text="Empty: every event.",
    )
    channels = ArrayField(
        models.CharField(max_length=20),
        default=list,
        blank=True,
        help_text="Only conversations of these channels (e.g. api for a messaging bridge). Empty: all.",
    )
    personal_data = models.BooleanField(
        default=False,
        help_text="Send customers' names and emails and unscrubbed message text. A messaging bridge (the API "
        "channel) or your CRM needs it; anything else should not have it.",
    )
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.name

    def wants(self, *, event_type: str, channel: str | None) -> bool:
        if self.events and event_type not in self.events:
            return False
        return not (self.channels and channel is not None and channel not in self.channels)


class WebhookDelivery(models.Model):
    """One event for one endpoint, from the moment it is stored (in the transaction that caused it)
    until it is delivered or given up. Stored before anything is sent, so no event is lost when the
    broker is down: the beat sweep sends what the queue never did."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    # No database constraint: deliveries are inserted inside the chat's own transactions, and an endpoint
    # deleted at that moment must not make the visitor's message fail at commit (the ORM still cascades).
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_constraint=False
    )
    event_id = models.UUIDField(db_index=True, help_text="The same for every endpoint receiving this event.")
    event_type = models.CharField(max_length=40, db_index=True)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="one_delivery_per_event")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint} ({self.get_status_display()})"


class WebhookAttempt(models.Model):
    """Every POST of a delivery, as a row: the delivery log managers read in admin."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    manual = models.BooleanField(default=False, help_text="Redelivered by a person.")
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error}"


# --- HubSpot ---------------------------------------------------------------------------------------------------


class HubSpotIntegration(models.Model):
    """The HubSpot connection (one row): a private app's token with the crm.objects.contacts scopes."""

    enabled = models.BooleanField(default=False)
    access_token = models.CharField(
        max_length=200, blank=True, help_text="HubSpot → Settings → Integrations → Private apps → the app's token."
    )
    portal_id = models.CharField(
        max_length=20, blank=True, help_text="Your HubSpot account id (Hub ID): the inbox links contacts with it."
    )
    base_url = models.URLField(default="https://api.hubapi.com", help_text="Leave as is (tests point it elsewhere).")
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "HubSpot integration"

    def __str__(self) -> str:
        return "HubSpot" + ("" if self.enabled else " (off)")

    @staticmethod
    def contact_url(contact_id: str) -> str:
        portal = HubSpotIntegration.objects.values_list("portal_id", flat=True).first() or ""
        return f"https://app.hubspot.com/contacts/{portal}/record/0-1/{contact_id}" if portal else ""


# --- The email channel (api/email/) ------------------------------------------------------------------------------


def email_thread_token() -> str:
    # Lower-case hex: mail systems may lower-case an address's local part on the way back.
    return secrets.token_hex(16)


class EmailThread(models.Model):
    """A conversation's email thread: the token of its reply address (reply+<token>@...) and its subject."""

    conversation = models.OneToOneField("chat.Conversation", on_delete=models.CASCADE, related_name="email_thread")
    token = models.CharField(max_length=32, unique=True, default=email_thread_token, editable=False)
    subject = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.subject} (conversation {self.conversation_id})"


class EmailRecord(models.Model):
    """One email sent or received in a thread. Its Message-ID threads replies that lost the reply
    address, and makes a second delivery of the same email (a webhook retry, a re-read mailbox) a no-op."""

    class Direction(models.TextChoices):
        INBOUND = "in", "From the visitor"
        OUTBOUND = "out", "To the visitor"

    class Status(models.TextChoices):
        PENDING = "pending", "Sending"
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"
        FAILED = "failed", "Failed (gave up)"

    thread = models.ForeignKey(EmailThread, on_delete=models.CASCADE, related_name="records")
    # The chat message it carried (an agent's reply out, the visitor's message in).
    message = models.OneToOneField(
        "chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="email_record"
    )
    header_id = models.CharField("Message-ID", max_length=255, unique=True, help_text="Without the <>.")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    address = models.EmailField(help_text="The visitor's address it was sent to or came from.")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["thread", "id"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: <{self.header_id}>"
