"""Whether a visitor is in the chat: one row per open widget socket bound to their conversation.

A server that dies keeps its rows, so connections older than PRESENCE_MAX_AGE are not believed: a
visitor wrongly thought present would never get an emailed reply, one wrongly thought gone gets an
email they did not need, which is the better mistake.
"""

import datetime as dt

from django.utils import timezone

from widget.models import VisitorConnection

PRESENCE_MAX_AGE = dt.timedelta(hours=12)


def visitor_connection_open(*, conversation_id: int, channel_name: str) -> None:
    VisitorConnection.objects.update_or_create(
        channel_name=channel_name, defaults={"conversation_id": conversation_id, "connected_at": timezone.now()}
    )


def visitor_connection_close(*, channel_name: str) -> None:
    VisitorConnection.objects.filter(channel_name=channel_name).delete()


def visitor_in_chat(*, conversation_id: int) -> bool:
    since = timezone.now() - PRESENCE_MAX_AGE
    return VisitorConnection.objects.filter(conversation_id=conversation_id, connected_at__gte=since).exists()
