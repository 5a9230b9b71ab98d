"""Serializer fields for hostile input: JSON that PostgreSQL can store, and nothing huge.

DRF's CharField already refuses NUL bytes and lone surrogates; JSON values do not, and
PostgreSQL's jsonb rejects "\\u0000" with an error that would surface as a 500.
"""

import json

from rest_framework import serializers

MAX_JSON_DEPTH = 8
MAX_JSON_BYTES = 32_000


def json_problem(value, depth: int = 0) -> str | None:
    if depth > MAX_JSON_DEPTH:
        return f"Nested deeper than {MAX_JSON_DEPTH} levels."
    if isinstance(value, str):
        if "\x00" in value:
            return "Text may not contain NUL characters."
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "Text may not contain lone surrogate characters."
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if problem := json_problem(key, depth + 1) or json_problem(item, depth + 1):
                return problem
    elif isinstance(value, list):
        for item in value:
            if problem := json_problem(item, depth + 1):
                return problem
    return None


class SafeJSONField(serializers.JSONField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if problem := json_problem(value):
            raise serializers.ValidationError(problem)
        if len(json.dumps(value)) > MAX_JSON_BYTES:
            raise serializers.ValidationError(f"At most {MAX_JSON_BYTES:,} bytes of JSON.")
        return value


class AttributesField(SafeJSONField):
    """A JSON object (customer attributes and the like)."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return super().to_internal_value(data)


class StringListField(serializers.ListField):
    """Tags and the like: a list of short, non-empty words."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.CharField(max_length=100))
        kwargs.setdefault("max_length", 50)
        super().__init__(**kwargs)
