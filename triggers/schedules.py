"""Periodic tasks of the triggers app, merged into CELERY_BEAT_SCHEDULE by config/settings.py."""

BEAT_SCHEDULE = {
    "triggers-score-unscored-messages": {
        "task": "triggers.tasks.score_unscored_messages",
        "schedule": 60.0,
    },
}
