import uuid

from django.core.exceptions import ValidationError
from django.db import models

from triggers.conditions import KINDS, validate_conditions
from triggers.conditions.bot import SIGNALS
from triggers.conditions.comparison import OPERATORS
from triggers.conditions.context import FIELDS

CONDITIONS_HELP = (
    'A JSON list of conditions; each is an object with a "kind": '
    + ", ".join(KINDS)
    + '. Add "negate": true to any of them, and nest with '
    '{"kind": "group", "match": "any", "conditions": [...]}. '
    "Examples: "
    '{"kind": "explicit_request"} · '
    '{"kind": "keywords", "terms": ["refund", "chargeback*"], "patterns": ["order\\\\s*#?\\\\d{6}"]} · '
    '{"kind": "sentiment", "scope": "message", "below": -0.6} · '
    '{"kind": "sentiment", "scope": "average", "last": 3, "below": -0.4} · '
    '{"kind": "sentiment", "scope": "drop", "last": 3, "drop": 0.8} · '
    '{"kind": "frustration", "signals": ["shouting", "repeated_punctuation", "profanity", "exasperation"], '
    '"min_signals": 2} · '
    '{"kind": "intent", "category": "complaint"} or {"kind": "intent", "examples": ["..."], "min_similarity": 0.62} · '
    '{"kind": "customer", "attribute": "plan", "op": "in", "value": ["pro", "enterprise"]} · '
    '{"kind": "bot", "signal": "consecutive_low_confidence", "count": 2, "below": 0.45} '
    f"(signals: {', '.join(SIGNALS)}) · "
    '{"kind": "context", "field": "business_hours", "value": "closed"} '
    f"(fields: {', '.join(FIELDS)}). Operators: {', '.join(OPERATORS)}."
)


class TriggerRule(models.Model):
    """A manager's rule: when its conditions hold for a visitor message, its actions apply.

    Rules are evaluated in `order`; every rule that matches is logged and its tags and
    notifications apply, and the first matching rule that hands off decides the handoff.
    """

    class Match(models.TextChoices):
        ALL = "all", "All conditions"
        ANY = "any", "Any condition"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    order = models.IntegerField(default=100, db_index=True, help_text="Lower runs first; the first handoff wins.")
    enabled = models.BooleanField(default=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(default=list, help_text=CONDITIONS_HELP)

    class WhenAnswerable(models.TextChoices):
        """What a handing-off rule does with a message the bot can answer confidently."""

        HANDOFF = "handoff", "Hand off instead of answering"
        ANSWER_THEN_HANDOFF = "answer_then_handoff", "Answer, then hand off"
        ANSWER_AND_OFFER = "answer_and_offer", "Answer and offer a person"

    handoff = models.BooleanField(default=True, help_text="Hand the conversation to a person when this rule fires.")
    when_answerable = models.CharField(
        max_length=20,
        choices=WhenAnswerable.choices,
        default=WhenAnswerable.HANDOFF,
        help_text="When the bot can answer the message that fired the rule: hand off without answering, answer "
        "and then hand off, or answer and offer a person (a declined question always hands off). A rule about "
        "the bot's history (repeats, thumbs down) should not swallow a new question the bot knows.",
    )
    team = models.ForeignKey(
        "agents.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the default queue.",
    )
    priority = models.SmallIntegerField(default=0, help_text="Higher is served first in the queue.")
    reason_label = models.CharField(
        max_length=200, blank=True, help_text="Shown to the agent as why the conversation came to them."
    )
    tags = models.JSONField(default=list, blank=True, help_text='Tags added to the conversation, e.g. ["vip"].')
    notify_team = models.ForeignKey(
        "agents.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Also alert this team's inbox (even without a handoff).",
    )
    visitor_message = models.TextField(blank=True, help_text="Sent to the visitor when the rule fires.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        problems = validate_conditions(self.conditions)
        if problems:
            errors["conditions"] = problems
        if not isinstance(self.tags, list) or not all(isinstance(tag, str) and tag.strip() for tag in self.tags):
            errors["tags"] = ['Tags must be a JSON list of words, e.g. ["vip", "billing"].']
        if self.handoff is False and not (self.tags or self.notify_team_id or self.visitor_message):
            errors["handoff"] = ["This rule does nothing: hand off, add tags, notify a team or message the visitor."]
        if errors:
            raise ValidationError(errors)


class TriggerFiring(models.Model):
    """One rule firing on one message: what matched, and whether it decided a handoff."""

    class Phase(models.TextChoices):
        MESSAGE = "message", "When the message arrived"
        SENTIMENT = "sentiment", "After sentiment scoring"

    rule = models.ForeignKey(TriggerRule, null=True, on_delete=models.SET_NULL, related_name="firings")
    # Kept when the rule is later renamed or deleted, so the log still reads.
    rule_name = models.CharField(max_length=200)
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="trigger_firings")
    message = models.ForeignKey(
        "chat.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="trigger_firings"
    )
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.MESSAGE)
    matched = models.JSONField(default=dict, help_text="The conditions that matched and the values they saw.")
    actions = models.JSONField(default=dict, help_text="What the rule asked for (handoff, team, tags, ...).")
    decided_handoff = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A rule fires at most once per message, so a retried or swept scoring task cannot log
            # (or hand off) twice.
            models.UniqueConstraint(
                fields=["rule", "message"],
                condition=models.Q(rule__isnull=False, message__isnull=False),
                name="trigger_firing_once_per_message",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_name} on conversation {self.conversation_id}"


class RuleSetVersion(models.Model):
    """One row whose token changes whenever any rule does: every process compares it with the token
    of the rules it has compiled, so an edit in admin applies to the next message everywhere."""

    token = models.UUIDField(default=uuid.uuid4)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(self.token)
