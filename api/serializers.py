"""What the API reads and writes. Validation lives here (clear 400s); writes go through services."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import Agent, InternalNote, Team
from api.fields import AttributesField, ConditionsField, QueryParams, StrictTypes, StringListField
from api.models import ApiToken
from chat.channels import channel_replies_via
from chat.models import Conversation, Customer, Message
from chat.realtime import author_name
from handoff.models import Handoff, SatisfactionRating
from knowledge.models import Article, Source
from triggers.models import TriggerRule


def validate_link(value: str) -> str:
    """A help-centre link the widget shows: http(s), or a path on the company's own site."""
    if not value:
        return value
    if value.startswith("/") and not value.startswith("//"):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise serializers.ValidationError("Use an http(s) URL or a path starting with /.")
    return value


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- Knowledge base ----------------------------------------------------------------------------------------


class ArticleSerializer(StrictTypes, serializers.ModelSerializer):
    questions = serializers.ListField(
        child=serializers.CharField(max_length=500),
        max_length=200,
        required=False,
        help_text="Example questions customers ask for this article; on update, the full list replaces the old.",
    )
    tags = StringListField(required=False)
    url = serializers.CharField(max_length=500, allow_blank=True, required=False, validators=[validate_link])
    source = serializers.PrimaryKeyRelatedField(queryset=Source.objects.all(), allow_null=True, required=False)

    class Meta:
        model = Article
        fields = [
            "id", "title", "body", "url", "tags", "published", "source", "questions",
            "embedded_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["embedded_at", "created_at", "updated_at"]
        extra_kwargs = {"title": {"max_length": 300}}

    def to_representation(self, article):
        data = super().to_representation(article)
        data["questions"] = [q.text for q in article.example_questions.all()]
        return data


class SourceSerializer(StrictTypes, serializers.ModelSerializer):
    kind = serializers.ChoiceField(
        choices=[Source.Kind.MANUAL, Source.Kind.URL],
        default=Source.Kind.MANUAL,
        help_text="Files and FAQ imports are uploaded in admin; the API creates manual sources and site crawls.",
    )
    url = serializers.URLField(max_length=200, required=False, allow_blank=True)
    page_limit = serializers.IntegerField(min_value=1, max_value=1000, required=False)

    class Meta:
        model = Source
        fields = [
            "id", "name", "kind", "url", "page_limit", "status", "progress_done", "progress_total",
            "last_error", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["status", "progress_done", "progress_total", "last_error", "created_at", "updated_at"]

    def validate_url(self, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise serializers.ValidationError("Crawls start from an http(s) URL.")
        return value

    def validate(self, data):
        kind = data.get("kind", getattr(self.instance, "kind", Source.Kind.MANUAL))
        url = data.get("url", getattr(self.instance, "url", ""))
        if kind == Source.Kind.URL and not url:
            raise serializers.ValidationError({"url": "A website crawl needs a start URL."})
        return data


class SearchQuerySerializer(QueryParams):
    q = serializers.CharField(max_length=500, help_text="The question, as a customer would ask it.")
    limit = serializers.IntegerField(min_value=1, max_value=20, default=5)


class SearchHitSerializer(serializers.Serializer):
    article_id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()
    text = serializers.CharField()
    score = serializers.FloatField()


# --- Trigger rules ---------------------------------------------------------------------------------------


class TriggerRuleSerializer(StrictTypes, serializers.ModelSerializer):
    """The same validation as admin: TriggerRule.clean() (the conditions package parses every condition)."""

    conditions = ConditionsField(help_text=TriggerRule._meta.get_field("conditions").help_text)
    tags = StringListField(required=False, help_text='Tags added to the conversation, e.g. ["vip"].')

    class Meta:
        model = TriggerRule
        fields = [
            "id", "name", "description", "order", "enabled", "match", "conditions", "handoff", "when_answerable",
            "team", "priority", "reason_label", "tags", "notify_team", "visitor_message", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "order": {"min_value": -1_000_000, "max_value": 1_000_000},
            "priority": {"min_value": -100, "max_value": 100},
        }

    def validate(self, data):
        rule = TriggerRule(**{**self._current(), **data})
        try:
            rule.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return data

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {
            name: getattr(self.instance, name)
            for name in self.Meta.fields
            if name not in ("id", "created_at", "updated_at")
        }


# --- Customers ---------------------------------------------------------------------------------------------


class CustomerSerializer(StrictTypes, serializers.ModelSerializer):
    attributes = AttributesField(
        required=False,
        help_text="Facts trigger rules read (plan, lifetime_value, tier, ...). A PATCH merges these keys "
        "into the stored ones; a null value removes a key.",
    )

    class Meta:
        model = Customer
        fields = [
            "id",
            "public_id",
            "name",
            "email",
            "phone",
            "external_id",
            "attributes",
            "first_seen_at",
            "last_seen_at",
        ]
        read_only_fields = ["public_id", "first_seen_at", "last_seen_at"]


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at"]


# --- Conversations ----------------------------------------------------------------------------------------


class HandoffSummarySerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    agent = serializers.SerializerMethodField()

    class Meta:
        model = Handoff
        fields = ["id", "status", "source", "reason", "team", "agent", "priority", "requested_at", "assigned_at"]

    def get_agent(self, handoff: Handoff) -> int | None:
        return handoff.agent_id


class ConversationSerializer(serializers.ModelSerializer):
    customer = CustomerSerializer(read_only=True)
    handoff = serializers.SerializerMethodField(help_text="The open handoff (waiting or with an agent), if any.")
    replies_via = serializers.SerializerMethodField(
        help_text="Where replies reach the visitor: widget, webhook or email."
    )

    class Meta:
        model = Conversation
        fields = [
            "id", "public_id", "channel", "replies_via", "status", "tags", "sentiment", "customer", "handoff",
            "last_seq", "created_at", "updated_at", "last_activity_at",
        ]  # fmt: skip

    @extend_schema_field(HandoffSummarySerializer(allow_null=True))
    def get_handoff(self, conversation: Conversation):
        open_handoffs = getattr(conversation, "open_handoffs", None)
        if open_handoffs is None:
            open_handoffs = list(conversation.handoffs.filter(status__in=Handoff.OPEN_STATUSES))
        return HandoffSummarySerializer(open_handoffs[0]).data if open_handoffs else None

    def get_replies_via(self, conversation: Conversation) -> str:
        return channel_replies_via(conversation.channel)


class ConversationQuerySerializer(QueryParams):
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    channel = serializers.ChoiceField(choices=Conversation.Channel.choices, required=False)
    team = serializers.SlugField(required=False, help_text="Team slug of the conversation's handoffs.")
    tag = serializers.CharField(max_length=100, required=False)
    updated_since = serializers.DateTimeField(required=False, help_text="ISO 8601, e.g. 2026-12-01T09:00:00Z")


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    reply_to = serializers.SerializerMethodField()
    kind = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["seq", "sender", "author", "text", "client_id", "reply_to", "kind", "created_at"]

    def get_author(self, message: Message) -> str | None:
        return author_name(message.author) if message.sender == Message.Sender.AGENT and message.author_id else None

    def get_reply_to(self, message: Message) -> int | None:
        value = (message.metadata or {}).get("reply_to")
        return value if isinstance(value, int) else None

    def get_kind(self, message: Message) -> str:
        return str((message.metadata or {}).get("kind", ""))


class MessageQuerySerializer(QueryParams):
    after = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0, help_text="Messages after this seq.")
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after` for the next page; null at the end."
    )


class TextSerializer(StrictTypes, serializers.Serializer):
    text = serializers.CharField(max_length=4000, trim_whitespace=True)


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = InternalNote
        fields = ["id", "author", "text", "created_at"]


class HandoffRequestSerializer(StrictTypes, serializers.Serializer):
    reason = serializers.CharField(max_length=200, default="Requested over the API")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    priority = serializers.IntegerField(min_value=-100, max_value=100, default=0)


class HandoffAssignSerializer(StrictTypes, serializers.Serializer):
    agent = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.select_related("user"),
        required=False,
        allow_null=True,
        help_text="Empty: the token's own agent takes it (managers may name any agent).",
    )


class HandoffTransferSerializer(StrictTypes, serializers.Serializer):
    agent = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.select_related("user"), required=False, allow_null=True
    )
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, data):
        if (data.get("agent") is None) == (data.get("team") is None):
            raise serializers.ValidationError("Give either an agent or a team.")
        return data


class ReasonSerializer(StrictTypes, serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="")


class RatingSerializer(serializers.ModelSerializer):
    agent = serializers.SerializerMethodField()

    class Meta:
        model = SatisfactionRating
        fields = ["id", "conversation", "subject", "agent", "score", "comment", "created_at"]

    def get_agent(self, rating: SatisfactionRating) -> int | None:
        return rating.agent_id
