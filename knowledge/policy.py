"""When the bot answers: the threshold in force, and the manager's choice of trade-off in admin.

The deployment's HANDOFF_ANSWER_THRESHOLD (0.5, derived in knowledge/tradeoff.py) applies until a
manager picks cautious, balanced or eager on the answer settings page, having seen what each costs
on their own knowledge base (knowledge.tradeoff_estimate).
"""

from __future__ import annotations

import threading
import time

from django.utils import timezone

from knowledge import conf
from knowledge.models import AnswerSettings
from knowledge.tradeoff import PRESETS

# The choice is read at most this often per process: a query per message cost ~5 ms of the
# decision's p50 on a busy machine, and a manager's change may take a few seconds to reach every process.
PRESET_TTL_SECONDS = 5.0
_preset_lock = threading.Lock()
_preset_cache: dict[str, tuple[str, float]] = {}


def answer_threshold() -> float:
    """The calibrated confidence below which the bot declines, as chosen now."""
    now = time.monotonic()
    with _preset_lock:
        cached = _preset_cache.get("preset")
    if cached is None or cached[1] <= now:
        preset = AnswerSettings.objects.values_list("preset", flat=True).first() or ""
        with _preset_lock:
            _preset_cache["preset"] = (preset, now + PRESET_TTL_SECONDS)
    else:
        preset = cached[0]
    return PRESETS[preset][0] if preset in PRESETS else conf.get("ANSWER_THRESHOLD")


def answer_threshold_forget() -> None:
    """Read the choice again on the next message (after a change in this process, and between tests)."""
    with _preset_lock:
        _preset_cache.clear()


def answer_settings_get() -> AnswerSettings:
    settings, _ = AnswerSettings.objects.get_or_create(pk=1)
    return settings


def answer_settings_choose(*, preset: str) -> AnswerSettings:
    if preset and preset not in PRESETS:
        raise ValueError(f"Unknown trade-off {preset!r}; choose one of {', '.join(PRESETS)} or the default")
    settings = answer_settings_get()
    settings.preset = preset
    settings.save(update_fields=["preset", "updated_at"])
    answer_threshold_forget()
    return settings


class EstimateUnavailable(ValueError):
    """The knowledge base cannot be estimated yet; the message says why."""


def answer_settings_estimate() -> AnswerSettings:
    """Estimate the trade-off on the knowledge base as it is now and keep it for the admin page.

    Raises EstimateUnavailable when there is too little to estimate on.
    """
    from knowledge.tradeoff_estimate import tradeoff_estimate  # noqa: PLC0415 - numpy and the model, on demand

    estimate = tradeoff_estimate()
    settings = answer_settings_get()
    settings.estimate = estimate.as_dict()
    settings.estimated_at = timezone.now()
    settings.save(update_fields=["estimate", "estimated_at", "updated_at"])
    return settings
