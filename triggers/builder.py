"""What the admin's rule builder offers: each condition kind with its options as form fields.

Derived from the kinds themselves (triggers.conditions: each kind's dataclass fields are its JSON
options, with their defaults), so a new option shows up in the builder without a second list. The
builder only writes the JSON; the JSON stays the stored form, validated by the same parse as the API.
"""

from __future__ import annotations

import dataclasses

from triggers import detectors
from triggers.conditions import REGISTRY
from triggers.conditions.bot import SIGNALS
from triggers.conditions.comparison import OPERATORS
from triggers.conditions.context import FIELDS
from triggers.conditions.sentiment import SCOPES

KIND_LABELS = {
    "explicit_request": "The visitor asks for a person",
    "keywords": "Words or patterns in the message",
    "sentiment": "Sentiment",
    "frustration": "Signs of frustration",
    "intent": "What the message is about",
    "customer": "A customer attribute",
    "bot": "The bot is struggling",
    "context": "The conversation's context (hours, channel, ...)",
    "group": "A group: any or all of several conditions",
}
CHOICES = {
    ("sentiment", "scope"): SCOPES,
    ("bot", "signal"): SIGNALS,
    ("context", "field"): FIELDS,
    ("context", "op"): OPERATORS,
    ("customer", "op"): OPERATORS,
    ("group", "match"): ("all", "any"),
    ("frustration", "signals"): detectors.FRUSTRATION_SIGNALS,
}
REQUIRED = {("customer", "attribute"), ("bot", "signal"), ("context", "field")}


def _widget(kind: str, name: str, annotation: str) -> str:
    if (kind, name) in CHOICES:
        return "multi" if annotation.startswith("tuple") else "choice"
    if annotation == "bool":
        return "bool"
    if annotation.startswith(("int", "float")):
        return "number"
    if annotation.startswith("tuple[str"):
        return "lines"  # one per line
    if annotation == "Any":
        return "value"  # JSON if it parses ("pro", ["pro", "enterprise"], 12000), else the text
    return "text"


def condition_menu() -> list[dict]:
    """JSON-ready: [{kind, label, options: [{name, widget, default, choices, required}]}]."""
    menu = []
    for kind, cls in REGISTRY.items():
        options = []
        if kind != "group":
            for f in dataclasses.fields(cls):
                if not f.init or f.name not in cls.option_names():
                    continue
                default = f.default if f.default is not dataclasses.MISSING else None
                options.append(
                    {
                        "name": f.name,
                        "widget": _widget(kind, f.name, str(f.type)),
                        "default": list(default) if isinstance(default, tuple) else default,
                        "choices": list(CHOICES.get((kind, f.name), ())),
                        "required": (kind, f.name) in REQUIRED,
                    }
                )
        else:
            options.append({"name": "match", "widget": "choice", "default": "all", "choices": ["all", "any"]})
        menu.append({"kind": kind, "label": KIND_LABELS.get(kind, kind), "options": options})
    return menu
