"""What the API reads and writes. Validation lives here (clear 400s); writes go through services."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from api.fields import AttributesField, SafeJSONField, StringListField
from api.models import ApiToken
from chat.models import Customer
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


class ArticleSerializer(serializers.ModelSerializer):
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


class SourceSerializer(serializers.ModelSerializer):
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


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=500, help_text="The question, as a customer would ask it.")
    limit = serializers.IntegerField(min_value=1, max_value=20, default=5)


class SearchHitSerializer(serializers.Serializer):
    article_id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()
    text = serializers.CharField()
    score = serializers.FloatField()


# --- Trigger rules ---------------------------------------------------------------------------------------


class TriggerRuleSerializer(serializers.ModelSerializer):
    """The same validation as admin: TriggerRule.clean() (the conditions package parses every condition)."""

    conditions = SafeJSONField(help_text=TriggerRule._meta.get_field("conditions").help_text)
    tags = SafeJSONField(required=False, help_text='Tags added to the conversation, e.g. ["vip"].')

    class Meta:
        model = TriggerRule
        fields = [
            "id", "name", "description", "order", "enabled", "match", "conditions", "handoff", "team",
            "priority", "reason_label", "tags", "notify_team", "visitor_message", "created_at", "updated_at",
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


class CustomerSerializer(serializers.ModelSerializer):
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
