"""Any change to a rule, however it is made (admin, shell, a data migration's model), makes every
process recompile its rules on the next message."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from triggers.models import TriggerRule
from triggers.rule_cache import rules_version_bump


@receiver(post_save, sender=TriggerRule, dispatch_uid="triggers_rule_saved")
@receiver(post_delete, sender=TriggerRule, dispatch_uid="triggers_rule_deleted")
def _rules_changed(**_kwargs) -> None:
    rules_version_bump()
