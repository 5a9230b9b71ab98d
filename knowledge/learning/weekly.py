"""The weekly review: a sample of the week's bot conversations a reviewer reads and marks
"on brand" or "needs work" (about a minute each)."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from chat.models import Message
from handoff.models import Handoff, SatisfactionRating
from knowledge import conf
from knowledge.learning.review import SuggestionError
from knowledge.models import WeeklyReviewItem


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_review_sample(*, week_start: date, size: int = 30) -> list[WeeklyReviewItem]:
    """A stratified sample of the week's bot conversations for a reviewer (about a minute each).

    Equal shares of handed-off, low-CSAT, thumbs-down and other conversations, each conversation in
    its most telling stratum; a short stratum's share goes to the others. Idempotent: items already
    sampled for the week stay (with their verdicts) and count towards `size`.
    """
    week_start = week_start_of(week_start)
    start = timezone.make_aware(datetime.combine(week_start, time.min))
    end = start + timedelta(days=7)
    with transaction.atomic():
        existing = list(WeeklyReviewItem.objects.select_for_update().filter(week_start=week_start))
        taken = {item.conversation_id for item in existing}
        room = size - len(existing)
        if room > 0:
            ids = (
                set(
                    Message.objects.filter(sender=Message.Sender.BOT, created_at__gte=start, created_at__lt=end)
                    .order_by()
                    .values_list("conversation_id", flat=True)
                    .distinct()
                )
                - taken
            )
            low_csat = set(
                SatisfactionRating.objects.filter(
                    conversation_id__in=ids, score__lte=conf.get("SUGGEST_NEGATIVE_CSAT")
                ).values_list("conversation_id", flat=True)
            )
            thumbs_down = set(
                Message.objects.filter(
                    conversation_id__in=ids, sender=Message.Sender.BOT, metadata__feedback="down"
                ).values_list("conversation_id", flat=True)
            )
            handed_off = set(Handoff.objects.filter(conversation_id__in=ids).values_list("conversation_id", flat=True))
            strata: dict[str, list[int]] = {s: [] for s in WeeklyReviewItem.Stratum.values}
            for conversation_id in sorted(ids):
                if conversation_id in low_csat:
                    stratum = WeeklyReviewItem.Stratum.LOW_CSAT
                elif conversation_id in thumbs_down:
                    stratum = WeeklyReviewItem.Stratum.NEGATIVE_FEEDBACK
                elif conversation_id in handed_off:
                    stratum = WeeklyReviewItem.Stratum.HANDED_OFF
                else:
                    stratum = WeeklyReviewItem.Stratum.RANDOM
                strata[stratum].append(conversation_id)
            rng = random.Random(week_start.toordinal())  # the same week samples the same way
            for members in strata.values():
                rng.shuffle(members)
            have = Counter(item.stratum for item in existing)
            share = math.ceil(size / len(strata))
            picked: list[tuple[int, str]] = []
            for stratum, members in strata.items():
                quota = max(0, min(share - have[stratum], room - len(picked)))
                picked += [(c, stratum) for c in members[:quota]]
                del members[:quota]
            leftovers = [(c, s) for s, members in strata.items() for c in members]
            rng.shuffle(leftovers)
            picked += leftovers[: max(0, room - len(picked))]
            WeeklyReviewItem.objects.bulk_create(
                [WeeklyReviewItem(week_start=week_start, conversation_id=c, stratum=s) for c, s in picked],
                ignore_conflicts=True,
            )
    return list(WeeklyReviewItem.objects.filter(week_start=week_start).order_by("id"))


def weekly_review_mark(*, item: WeeklyReviewItem, reviewer, verdict: str, note: str = "") -> WeeklyReviewItem:
    """Record the reviewer's verdict ("on_brand", "needs_work", or "" to clear it) and note."""
    if verdict not in ("", *WeeklyReviewItem.Verdict.values):
        raise SuggestionError("Choose “On brand” or “Needs work”.")
    with transaction.atomic():
        item = WeeklyReviewItem.objects.select_for_update().get(pk=item.pk)
        item.verdict, item.note = verdict, note.strip()[:4000]
        item.reviewer = reviewer if verdict or item.note else None
        item.reviewed_at = timezone.now() if verdict else None
        item.save(update_fields=["verdict", "note", "reviewer", "reviewed_at"])
    return item
