"""The agent's one-click verdict on a handoff once it is over (reports measure each trigger with it)."""

from django import template

from agents.selectors import user_is_manager
from handoff.models import Handoff
from handoff.selectors import handoff_to_label

register = template.Library()


@register.inclusion_tag("inbox/partials/verdict.html", takes_context=True)
def verdict_buttons(context, conversation):
    user = context["request"].user
    handoff = handoff_to_label(conversation=conversation)
    handled = handoff is not None and handoff.agent is not None and handoff.agent.user_id == user.pk
    return {
        "conversation": conversation,
        "handoff": handoff,
        "may_label": handoff is not None and (handled or user_is_manager(user)),
        "choices": Handoff.Verdict.choices,
        "csrf_token": context.get("csrf_token"),
    }
