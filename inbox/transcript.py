"""The agent's transcript: the visitor's, bot's, agents' and system messages with internal notes
interleaved by time. Visitors never get this view; their widget reads chat messages only."""

from dataclasses import dataclass
from datetime import datetime

from agents.models import InternalNote
from chat.models import Conversation, Message


@dataclass(frozen=True)
class TranscriptEntry:
    kind: str  # "message" or "note"
    at: datetime
    message: Message | None = None
    note: InternalNote | None = None


def transcript_entries(*, conversation: Conversation) -> list[TranscriptEntry]:
    messages = conversation.messages.select_related("author__agent").order_by("seq")
    notes = conversation.internal_notes.select_related("author")
    entries = [TranscriptEntry("message", m.created_at, message=m) for m in messages]
    entries += [TranscriptEntry("note", n.created_at, note=n) for n in notes]
    return sorted(entries, key=lambda entry: entry.at)
