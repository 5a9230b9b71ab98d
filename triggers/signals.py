"""Any change to a rule, however it is made (admin, shell, a data migration's model), makes every
process recompile its rules on the next message; a change to the knowledge base's articles makes this
process check at once whether rules reading its categories must be recompiled."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from knowledge.models import Article, ExampleQuestion
from triggers.models import TriggerRule
from triggers.rule_cache import rules_knowledge_changed, rules_version_bump


@receiver(post_save, sender=TriggerRule, dispatch_uid="triggers_rule_saved")
@receiver(post_delete, sender=TriggerRule, dispatch_uid="triggers_rule_deleted")
def _rules_changed(**_kwargs) -> None:
    rules_version_bump()


@receiver(post_save, sender=Article, dispatch_uid="triggers_article_saved")
@receiver(post_delete, sender=Article, dispatch_uid="triggers_article_deleted")
@receiver(post_save, sender=ExampleQuestion, dispatch_uid="triggers_question_saved")
@receiver(post_delete, sender=ExampleQuestion, dispatch_uid="triggers_question_deleted")
def _knowledge_changed(**_kwargs) -> None:
    rules_knowledge_changed()
