"""Fill the inbox fields chat 0002 added to conversations from their handoffs (the lifecycle keeps
them up to date from now on)."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def copy_from_handoffs(apps, schema_editor):
    Conversation = apps.get_model("chat", "Conversation")
    Handoff = apps.get_model("handoff", "Handoff")
    latest = Handoff.objects.filter(conversation=OuterRef("pk")).order_by("-requested_at", "-id")
    Conversation.objects.filter(handoffs__isnull=False).update(
        team_id=Subquery(latest.values("team_id")[:1]), priority=Subquery(latest.values("priority")[:1])
    )
    assigned = Handoff.objects.filter(conversation=OuterRef("pk"), status="assigned")
    Conversation.objects.filter(status="assigned").update(assignee_id=Subquery(assigned.values("agent_id")[:1]))
    queued = Handoff.objects.filter(conversation=OuterRef("pk"), status="queued")
    Conversation.objects.filter(status="queued").update(waiting_since=Subquery(queued.values("requested_at")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_inbox_fields"),
        ("handoff", "0002_report_proxy"),
    ]

    operations = [migrations.RunPython(copy_from_handoffs, migrations.RunPython.noop)]
