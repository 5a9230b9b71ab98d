from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F

from agents.models import Agent, Team
from chat.models import Conversation
from handoff.stats import Seconds


class Handoff(models.Model):
    """One request for a person in a conversation, from the moment it is asked until it ends.

    The conversation's status says where it is now; the handoff keeps the why (reason, trigger,
    summary, the customer's context at that moment) that the agent reads, and the timings that
    wait estimates and reports are computed from.
    """

    class Source(models.TextChoices):
        VISITOR = "visitor", "Visitor asked"
        TRIGGER = "trigger", "Trigger rule"
        AGENT = "agent", "Agent took over"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        ASSIGNED = "assigned", "With an agent"
        RESOLVED = "resolved", "Resolved"
        HANDED_BACK = "handed_back", "Handed back to the bot"
        CANCELLED = "cancelled", "Cancelled by the visitor"

    class Verdict(models.TextChoices):
        """The agent's one-click label once the conversation is resolved: was this handoff right?"""

        NEEDED = "needed", "Handoff was needed"
        BOT_COULD_ANSWER = "bot_could_answer", "The bot could have answered"
        TOO_LATE = "too_late", "The bot should have handed off sooner"

    # Waiting or with an agent: at most one per conversation (see the constraint below).
    OPEN_STATUSES = (Status.QUEUED, Status.ASSIGNED)

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    reason = models.CharField(max_length=200, help_text="Shown to the agent, e.g. the trigger's label.")
    # The rule that fired and what it matched, copied at the time (rules are edited later).
    trigger = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs")
    # Higher goes first (VIP rules set it); ties are served oldest first.
    priority = models.SmallIntegerField(default=0)
    summary = models.TextField(blank=True)
    # The customer's attributes, sentiment trend and pages at handoff time.
    context = models.JSONField(default=dict, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_agent_reply_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # When a person first took it: the visitor's real wait ends here (assigned_at moves on a
    # transfer or a return to the queue).
    first_assigned_at = models.DateTimeField(null=True, blank=True)

    # What the visitor was promised when they asked (handoff.availability): the estimate and the
    # range they were told it falls in. Empty when nobody could answer and the visitor was asked
    # for an email instead (email_asked).
    wait_estimate_seconds = models.PositiveIntegerField(null=True, blank=True)
    wait_low_seconds = models.PositiveIntegerField(null=True, blank=True)
    wait_high_seconds = models.PositiveIntegerField(null=True, blank=True)
    email_asked = models.BooleanField(default=False)
    # Did the bot answer in the conversation before the request: "bot then human" vs "human only".
    bot_answered_before = models.BooleanField(default=False)
    # The visitor chose to keep chatting with the assistant while waiting: the bot answers until a
    # person joins, and the person reads those answers in the transcript.
    bot_while_waiting = models.BooleanField(default=False)

    verdict = models.CharField(max_length=20, choices=Verdict.choices, blank=True, db_index=True)
    verdict_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verdict_at = models.DateTimeField(null=True, blank=True)
    # For the reports' per-trigger and per-person tables, kept by handoff.services (rebuilt from the
    # rows by reports/facts.py): the visitor's rating of this handoff, and for a resolved one the
    # first time its conversation was reopened after it ended.
    csat_score = models.PositiveSmallIntegerField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    # The reports' times in seconds, kept by PostgreSQL with the row: what their percentiles sort
    # (the same float each EXTRACT gave them, computed once per handoff instead of once per report).
    wait_seconds = models.GeneratedField(
        expression=Seconds(F("first_assigned_at") - F("requested_at")),
        output_field=models.FloatField(),
        db_persist=True,
    )
    first_response_seconds = models.GeneratedField(
        expression=Seconds(F("first_agent_reply_at") - F("requested_at")),
        output_field=models.FloatField(),
        db_persist=True,
    )
    handling_seconds = models.GeneratedField(
        expression=Seconds(F("ended_at") - F("first_assigned_at")),
        output_field=models.FloatField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-priority", "requested_at"]
        constraints = [
            # At most one open handoff per conversation: a second request joins the first.
            models.UniqueConstraint(
                fields=["conversation"],
                condition=models.Q(status__in=["queued", "assigned"]),
                name="one_open_handoff_per_conversation",
            )
        ]
        indexes = [models.Index(fields=["status", "team", "-priority", "requested_at"], name="handoff_queue")]

    def __str__(self) -> str:
        return f"Handoff {self.pk} of conversation {self.conversation_id} ({self.status})"


class HandoffEvent(models.Model):
    """Every transition of a conversation between bot, queue, agents and resolution, as a row."""

    class Action(models.TextChoices):
        REQUEST = "request", "Handoff requested"
        ASSIGN = "assign", "Assigned"
        TRANSFER = "transfer", "Transferred"
        RETURN_TO_QUEUE = "return_to_queue", "Returned to the queue"
        RESOLVE = "resolve", "Resolved"
        HAND_BACK = "hand_back", "Handed back to the bot"
        CANCEL = "cancel", "Cancelled by the visitor"
        REOPEN = "reopen", "Reopened"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoff_events")
    handoff = models.ForeignKey(Handoff, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=20, choices=Action.choices)
    from_status = models.CharField(max_length=20, choices=Conversation.Status.choices)
    to_status = models.CharField(max_length=20, choices=Conversation.Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.from_status} → {self.to_status}"


class SatisfactionRating(models.Model):
    """A visitor's CSAT answer, about the bot or about the person who helped them."""

    class Subject(models.TextChoices):
        BOT = "bot", "The assistant"
        HUMAN = "human", "The person"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="ratings")
    handoff = models.ForeignKey(Handoff, null=True, blank=True, on_delete=models.SET_NULL, related_name="ratings")
    subject = models.CharField(max_length=10, choices=Subject.choices)
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="ratings")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"),
            # One answer per handoff (a person's help) and one per bot-only conversation.
            models.UniqueConstraint(fields=["handoff"], name="one_rating_per_handoff"),
            models.UniqueConstraint(
                fields=["conversation"],
                condition=models.Q(handoff__isnull=True),
                name="one_bot_rating_per_conversation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 for {self.get_subject_display()}"
