"""Reads for the review screens: evidence transcripts, the weekly review's weeks and progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q

from chat.models import Conversation, Message
from knowledge.models import SuggestionEvidence, TrainingSuggestion, WeeklyReviewItem

# The reviewer reads a few conversations, not all forty behind a popular suggestion.
TRANSCRIPTS_SHOWN = 3
MESSAGES_PER_TRANSCRIPT = 40


@dataclass
class TranscriptLine:
    message: Message
    evidence_note: str = ""  # why this message is evidence; "" for context lines


@dataclass
class EvidenceTranscript:
    conversation: Conversation
    lines: list[TranscriptLine] = field(default_factory=list)
    truncated: bool = False


def suggestion_transcripts(
    *, suggestion: TrainingSuggestion, limit: int = TRANSCRIPTS_SHOWN
) -> tuple[list[EvidenceTranscript], int]:
    """The latest `limit` evidence conversations with their messages, evidence marked; and how many in all."""
    evidence = list(
        SuggestionEvidence.objects.filter(suggestion=suggestion)
        .order_by("-conversation_id", "message_id")
        .values_list("conversation_id", "message_id", "note")
    )
    conversation_ids = list(dict.fromkeys(c for c, _m, _n in evidence))
    notes = {m: n for _c, m, n in evidence}
    return conversation_transcripts(conversation_ids=conversation_ids[:limit], notes=notes), len(conversation_ids)


def conversation_transcripts(
    *, conversation_ids: list[int], notes: dict[int, str] | None = None
) -> list[EvidenceTranscript]:
    """Transcripts of these conversations in the given order (two queries however many there are)."""
    notes = notes or {}
    conversations = Conversation.objects.select_related("customer").in_bulk(conversation_ids)
    transcripts = {
        cid: EvidenceTranscript(conversation=conversations[cid]) for cid in conversation_ids if cid in conversations
    }
    messages = (
        Message.objects.filter(conversation_id__in=list(transcripts))
        .exclude(sender=Message.Sender.SYSTEM, metadata__kind="csat_request")
        .select_related("author")
        .order_by("conversation_id", "seq")
    )
    for message in messages:
        transcript = transcripts[message.conversation_id]
        if len(transcript.lines) >= MESSAGES_PER_TRANSCRIPT:
            transcript.truncated = True
            continue
        transcript.lines.append(TranscriptLine(message=message, evidence_note=notes.get(message.pk, "")))
    return list(transcripts.values())


@dataclass(frozen=True)
class WeeklyProgress:
    week_start: date
    reviewed: int
    total: int
    on_brand: int
    needs_work: int

    def __str__(self) -> str:
        return f"{self.reviewed} of {self.total} reviewed"


def weekly_review_progress(*, week_start: date) -> WeeklyProgress:
    counts = WeeklyReviewItem.objects.filter(week_start=week_start).aggregate(
        total=Count("id"),
        reviewed=Count("id", filter=~Q(verdict="")),
        on_brand=Count("id", filter=Q(verdict=WeeklyReviewItem.Verdict.ON_BRAND)),
        needs_work=Count("id", filter=Q(verdict=WeeklyReviewItem.Verdict.NEEDS_WORK)),
    )
    return WeeklyProgress(week_start=week_start, **counts)


def weekly_review_weeks() -> list[date]:
    """Weeks that have a sample, newest first."""
    return list(WeeklyReviewItem.objects.order_by("-week_start").values_list("week_start", flat=True).distinct())
