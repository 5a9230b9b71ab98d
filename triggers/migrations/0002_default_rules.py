"""Install the shipped default rules (VIP customer, out of hours, explicit request, complaint,
strong negative sentiment, bot stuck twice) so a new company starts with working triggers.

Only on a database without rules: reinstalling later is `manage.py triggers_install_defaults`.
The rules name no team (teams are created after migrating), so they hand off to the default queue.
"""

from django.db import migrations


def install(apps, schema_editor):
    from triggers.defaults import DEFAULT_RULES

    TriggerRule = apps.get_model("triggers", "TriggerRule")
    if TriggerRule.objects.exists():
        return
    for spec in DEFAULT_RULES:
        TriggerRule.objects.create(
            name=spec["name"],
            order=spec["order"],
            match=spec["match"],
            conditions=spec["conditions"],
            handoff=spec["handoff"],
            priority=spec.get("priority", 0),
            reason_label=spec.get("reason_label", ""),
            tags=spec.get("tags", []),
            visitor_message=spec.get("visitor_message", ""),
        )


def uninstall(apps, schema_editor):
    from triggers.defaults import DEFAULT_RULES

    TriggerRule = apps.get_model("triggers", "TriggerRule")
    TriggerRule.objects.filter(name__in=[spec["name"] for spec in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("triggers", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
