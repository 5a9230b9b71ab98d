"""The agent's transcript: the visitor's, bot's, agents' and system messages with internal notes
and transfer notes interleaved by time. Visitors never get this view; their widget reads chat
messages only."""

from dataclasses import dataclass
from datetime import datetime

from agents.models import InternalNote
from chat.models import Conversation, Message
from handoff.models import HandoffEvent


@dataclass(frozen=True)
class TranscriptEntry:
    kind: str  # "message", "note" or "event" (a transfer with a note for the next agent)
    at: datetime
    message: Message | None = None
    note: InternalNote | None = None
    event: HandoffEvent | None = None


def transcript_entries(*, conversation: Conversation) -> list[TranscriptEntry]:
    messages = conversation.messages.select_related("author__agent").order_by("seq")
    notes = conversation.internal_notes.select_related("author")
    transfers = transfer_notes(conversation_id=conversation.pk)
    entries = [TranscriptEntry("message", m.created_at, message=m) for m in messages]
    entries += [TranscriptEntry("note", n.created_at, note=n) for n in notes]
    entries += [TranscriptEntry("event", e.created_at, event=e) for e in transfers]
    return sorted(entries, key=lambda entry: entry.at)


def transfer_notes(*, conversation_id: int):
    """Transfers that left a note for the next agent, oldest first."""
    return (
        HandoffEvent.objects.filter(conversation_id=conversation_id, action=HandoffEvent.Action.TRANSFER)
        .exclude(note="")
        .select_related("actor__agent", "agent", "team")
    )


def transfer_note_open(*, conversation_id: int) -> HandoffEvent | None:
    """The latest transfer note of the conversation's open handoff: what the agent who has it now
    (or will take it from the queue) should read first."""
    return (
        transfer_notes(conversation_id=conversation_id)
        .filter(handoff__status__in=["queued", "assigned"])
        .order_by("-created_at", "-id")
        .first()
    )
