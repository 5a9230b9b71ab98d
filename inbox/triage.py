"""An agent's triage of conversations: taking one over from the bot, snoozing, tags, and the same
actions in bulk on a list. Each write checks the state it changes in the database (a row lock or
a conditional UPDATE), so two agents acting at once cannot both win."""

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from agents.services import AgentError
from chat.models import Conversation
from chat.realtime import ALL_TEAMS_GROUP, inbox_changed_event, send_to_group, team_group
from handoff.models import Handoff
from handoff.selectors import handoff_open
from handoff.services import HandoffError, handoff_assign, handoff_resolve, handoff_take_over

Status = Conversation.Status
OPEN = (Status.QUEUED, Status.ASSIGNED)
TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,29}")
MAX_TAGS = 20
SNOOZE_CHOICES = {
    "1h": "For an hour",
    "4h": "For 4 hours",
    "tomorrow": "Until tomorrow 9:00",
    "reply": "Until they reply",
}


def _inbox_changed(conversation: Conversation) -> None:
    for group in {ALL_TEAMS_GROUP, team_group(conversation.team_id)}:
        send_to_group(group, inbox_changed_event(conversation=conversation))


def conversation_take_over(*, conversation: Conversation, agent: Agent, actor=None) -> Handoff:
    """Take a live bot conversation: it stays with its team if the agent is on it, else goes to theirs."""
    teams = list(agent.teams.all())
    team = next((team for team in teams if team.pk == conversation.team_id), teams[0] if teams else None)
    return handoff_take_over(conversation=conversation, agent=agent, team=team, actor=actor)


def snooze_until(choice: str, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """The end of a snooze chosen in the inbox; None is "until the visitor replies"."""
    now = now or timezone.now()
    if choice == "1h":
        return now + dt.timedelta(hours=1)
    if choice == "4h":
        return now + dt.timedelta(hours=4)
    if choice == "tomorrow":
        local = timezone.localtime(now) + dt.timedelta(days=1)
        return local.replace(hour=9, minute=0, second=0, microsecond=0)
    if choice == "reply":
        return None
    raise AgentError("Choose how long to snooze it: an hour, 4 hours, until tomorrow or until the visitor replies.")


def conversation_snooze(*, conversation: Conversation, until: dt.datetime | None) -> None:
    """Out of the lists until `until` (or the visitor's next message, which always wakes it)."""
    with transaction.atomic():
        # Conditional UPDATE: a conversation resolved or handed back meanwhile is not snoozed.
        updated = Conversation.objects.filter(pk=conversation.pk, status__in=OPEN).update(
            snoozed_at=timezone.now(), snoozed_until=until
        )
        if not updated:
            raise AgentError(f"Conversation {conversation.pk} is not open; only open conversations can be snoozed.")
        _inbox_changed(conversation)


def snoozes_wake_due(*, now: dt.datetime | None = None) -> int:
    """End the snoozes whose time has come and tell their teams' inboxes; returns how many woke.
    Each is a conditional UPDATE on the snooze it read, so a conversation snoozed again meanwhile
    keeps its new snooze."""
    now = now or timezone.now()
    woken = 0
    due = Conversation.objects.filter(snoozed_at__isnull=False, snoozed_until__lte=now)
    for conversation in due.only("pk", "team_id", "status", "snoozed_until")[:500]:
        with transaction.atomic():
            updated = Conversation.objects.filter(pk=conversation.pk, snoozed_until=conversation.snoozed_until).update(
                snoozed_at=None, snoozed_until=None
            )
            if updated:
                woken += 1
                _inbox_changed(conversation)
    return woken


def conversation_unsnooze(*, conversation: Conversation) -> None:
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(snoozed_at=None, snoozed_until=None)
        _inbox_changed(conversation)


def tag_clean(text: str) -> str:
    tag = " ".join(text.replace("\x00", "").split()).lower().replace(" ", "-")
    if not TAG.fullmatch(tag):
        raise AgentError("A tag is 1 to 30 letters, digits, - or _ (e.g. refund, vip).")
    return tag


def conversation_tags_change(*, conversation: Conversation, add: list[str] = (), remove: list[str] = ()) -> list[str]:
    """Add and remove tags (rules add them too); the row is locked so two agents' edits both stay."""
    add = [tag_clean(tag) for tag in add]
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        tags = [tag for tag in locked.tags if tag not in remove]
        tags += [tag for tag in dict.fromkeys(add) if tag not in tags]
        if len(tags) > MAX_TAGS:
            raise AgentError(f"A conversation can have at most {MAX_TAGS} tags.")
        if tags != locked.tags:
            Conversation.objects.filter(pk=locked.pk).update(tags=tags)
            _inbox_changed(locked)
    conversation.tags = tags
    return tags


BULK_ACTIONS = {"assign_me": "Assign to me", "tag": "Add tag", "resolve": "Resolve"}
MAX_BULK = 100


@dataclass
class BulkResult:
    done: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self, action: str) -> str:
        verb = {"assign_me": "assigned to you", "tag": "tagged", "resolve": "resolved"}[action]
        text = f"{self.done} conversation{'s' if self.done != 1 else ''} {verb}."
        return " ".join([text, *self.errors])


def conversations_bulk(
    *, conversations: list[Conversation], action: str, agent: Agent | None, actor, tag: str = ""
) -> BulkResult:
    """The same action on each conversation through its own service, so each keeps its own
    checks and locks; one that cannot be done is reported, the others still happen."""
    if action not in BULK_ACTIONS:
        raise AgentError("Choose an action: assign to me, add a tag or resolve.")
    if action == "assign_me" and agent is None:
        raise AgentError("Only agents can take conversations (managers without an agent profile can watch).")
    if action == "tag":
        tag = tag_clean(tag)
    result = BulkResult()
    for conversation in conversations[:MAX_BULK]:
        try:
            if action == "assign_me":
                handoff = handoff_open(conversation=conversation)
                if handoff is None:
                    raise HandoffError(f"Conversation {conversation.pk} is not waiting for a person.")
                handoff_assign(handoff=handoff, agent=agent, actor=actor, reason="Assigned in bulk")
            elif action == "tag":
                conversation_tags_change(conversation=conversation, add=[tag])
            else:
                handoff_resolve(conversation=conversation, actor=actor)
            result.done += 1
        except (HandoffError, AgentError) as error:
            result.errors.append(str(error))
    return result
