from handoff.models import Handoff


class Report(Handoff):
    """The admin index's "Reports" entry (no table of its own: the page reads handoff, chat, triggers)."""

    class Meta:
        proxy = True
        verbose_name = "report"
        verbose_name_plural = "reports"
        default_permissions = ()  # who may read it is agents.selectors.user_is_manager, not a model permission
