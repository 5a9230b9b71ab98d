"""{"kind": "context"}: facts about the conversation (business hours, channel, status, counts, waits, tags)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from triggers.conditions.base import Options
from triggers.conditions.comparison import Comparison

if TYPE_CHECKING:
    from triggers.engine import Evaluation

FIELDS = (
    "business_hours",
    "channel",
    "status",
    "visitor_messages",
    "messages",
    "waiting_seconds",
    "conversation_age_seconds",
    "tags",
)
OPEN_CLOSED = ("open", "closed")


@dataclass(slots=True)
class Context(Comparison):
    field: str = "business_hours"
    # business_hours of this team (by slug); empty: the team the rule hands off to (engine.compile_rules
    # fills it in), or the default team for a rule without one.
    team: str = ""
    kind = "context"

    @property
    def uses_business_hours(self) -> bool:  # type: ignore[override]
        return self.field == "business_hours"

    @classmethod
    def parse(cls, o: Options) -> Self:
        field = o.choice("field", FIELDS, required=True)
        team = o.get("team")
        if not isinstance(team, str):
            raise o.error("'team' must be a team slug")
        if team and field != "business_hours":
            raise o.error("'team' only applies to the business_hours field")
        comparison = cls.parse_comparison(o)
        if field == "business_hours" and (
            comparison["op"] not in ("=", "!=") or comparison["value"] not in OPEN_CLOSED
        ):
            raise o.error('business_hours takes op "=" or "!=" and value "open" or "closed"')
        return cls(field=field, team=team.strip(), **comparison)

    def _test(self, ev: Evaluation) -> tuple[bool, dict]:
        conversation = ev.conversation
        if self.field == "business_hours":
            is_open = conversation.teams_open.get(self.team) if self.team else conversation.business_hours_open
            if is_open is None:  # no hours configured: neither "open" nor "closed" applies
                return False, {}
            actual: Any = "open" if is_open else "closed"
        else:
            actual = {
                "channel": conversation.channel,
                "status": conversation.status,
                "visitor_messages": conversation.visitor_message_count,
                "messages": conversation.message_count,
                "waiting_seconds": conversation.waiting_seconds,
                "conversation_age_seconds": conversation.age_seconds,
                "tags": list(conversation.tags),
            }[self.field]
        if self.compare(actual):
            details = {"kind": self.kind, "field": self.field, "value": actual}
            if self.team:
                details["team"] = self.team
            return True, details
        return False, {}

    def _describe(self) -> str:
        team = f" ({self.team})" if self.team else ""
        return f"{self.field.replace('_', ' ')}{team} {self.op} {self.value!r}"
