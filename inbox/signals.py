"""Tell a user's open inbox sockets when their access may have changed, so they check again at once
instead of at the next push (the consumer re-checks every push as well)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_delete, post_save

from agents.models import Agent
from chat.realtime import access_changed_event, send_to_group, user_group


def _tell(user_id: int | None, reason) -> None:
    if user_id is not None:
        send_to_group(user_group(user_id), access_changed_event(reason=reason))


def on_logged_out(sender, request, user, **kwargs) -> None:
    _tell(getattr(user, "pk", None), "signed_out")


def on_user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if not created and not instance.is_active:
        _tell(instance.pk, "deactivated")


def on_teams_changed(sender, instance, action, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, Agent):
        _tell(instance.user_id, "teams_changed")
    else:  # Team.agents.remove(...): the agents on the other side
        for user_id in Agent.objects.filter(pk__in=pk_set or ()).values_list("user_id", flat=True):
            _tell(user_id, "teams_changed")


def on_groups_changed(sender, instance, action, **kwargs) -> None:
    """The Managers group (agents.MANAGER_PERMISSION) decides who sees every team."""
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, get_user_model()):
        _tell(instance.pk, "teams_changed")


def on_agent_deleted(sender, instance, **kwargs) -> None:
    _tell(instance.user_id, "teams_changed")


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(on_logged_out, dispatch_uid="inbox-access-logged-out")
    post_save.connect(on_user_saved, sender=user_model, dispatch_uid="inbox-access-user-saved")
    m2m_changed.connect(on_teams_changed, sender=Agent.teams.through, dispatch_uid="inbox-access-teams")
    m2m_changed.connect(on_groups_changed, sender=user_model.groups.through, dispatch_uid="inbox-access-groups")
    post_delete.connect(on_agent_deleted, sender=Agent, dispatch_uid="inbox-access-agent-deleted")
