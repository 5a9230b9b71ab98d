"""Serializer fields for hostile input: JSON that PostgreSQL can store, and nothing huge.

DRF's CharField already refuses NUL bytes and lone surrogates; JSON values do not, and
PostgreSQL's jsonb rejects "\\u0000" with an error that would surface as a 500.
"""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
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


@extend_schema_field(OpenApiTypes.OBJECT)
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


@extend_schema_field({"type": "array", "items": {"type": "object"}})
class ConditionsField(SafeJSONField):
    """A trigger rule's conditions: a list of objects, each parsed by triggers.conditions."""

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise serializers.ValidationError('A list of condition objects, e.g. [{"kind": "explicit_request"}].')
        return super().to_internal_value(data)


class StrictTypes:
    """Serializer mixin: JSON values must have the type the schema promises.

    DRF coerces (0 becomes "0", "5" becomes 5, "yes" becomes True); a client that sends the wrong type
    has a bug, and telling it is kinder than storing a guess. Query strings are all text, so they are
    left to the fields' own parsing.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict) and not hasattr(data, "getlist"):
            errors = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data or data[name] is None:
                    continue
                expected = _json_type(field)
                if expected is None:
                    continue
                types, label = expected
                value = data[name]
                # bool is an int in Python, not in JSON Schema.
                if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                    errors[name] = [f"Expected {label}."]
                elif value == "" and isinstance(field, serializers.RelatedField):
                    errors[name] = ["Give a value or null."]  # DRF would read "" as null
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class QueryParams(serializers.Serializer):
    """Query-string parameters: a parameter given empty (`?updated_since=`) is an error, not absent."""

    def to_internal_value(self, data):
        empty = [name for name in self.fields if name in data and data.get(name) == ""]
        if empty:
            raise serializers.ValidationError({name: ["May not be empty."] for name in empty})
        return super().to_internal_value(data)


def _json_type(field) -> tuple[tuple[type, ...], str] | None:
    if isinstance(field, serializers.BooleanField):
        return (bool,), "true or false"
    if isinstance(field, serializers.IntegerField):
        return (int, float), "a whole number"
    if isinstance(field, serializers.FloatField):
        return (int, float), "a number"
    if isinstance(field, (serializers.CharField, serializers.ChoiceField, serializers.DateTimeField)):
        return (str,), "a string"
    if isinstance(field, serializers.ListField | serializers.ManyRelatedField):
        return (list,), "a list"
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        return (int,), "an id (a whole number)"
    if isinstance(field, serializers.SlugRelatedField):
        return (str,), "a slug"
    return None
