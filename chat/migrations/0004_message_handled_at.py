from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def mark_existing_handled(apps, schema_editor):
    """Messages stored before the answer sweep existed were answered (or not) long ago: the sweep
    must not answer them now."""
    Message = apps.get_model("chat", "Message")
    Message.objects.filter(sender="visitor").update(handled_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_conversation_channel_api"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="handled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_existing_handled, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("handled_at__isnull", True), ("sender", "visitor")),
                fields=["created_at"],
                name="message_unhandled",
            ),
        ),
    ]
