"""Who may see a conversation and act on it: one rule for every inbox view, API call, socket push
and service.

Managers (agents.selectors.user_is_manager) may see and act on every conversation. An agent may
see and act on a conversation assigned to them, or one whose current team is one of theirs: the
open handoff's team, which handoff.services mirrors onto Conversation.team at every transition.
Earlier handoffs grant nothing, so a conversation transferred to another team leaves the old
team's inbox at once. Once the handoff is over the conversation keeps its last team: that team
can still read it and leave notes (the services refuse replies and transitions that make no
sense then). A conversation the bot has had all along (no team yet) is the default team's to
watch, as the inbox's "Bot" view shows it to them.
"""

from django.conf import settings
from django.db.models import Q, QuerySet

from agents.models import Agent
from agents.selectors import agent_for_user, user_is_manager
from chat.models import Conversation


def conversation_access_q(*, agent: Agent, prefix: str = "") -> Q:
    """The conversations `agent` may see, as a filter (`prefix` to apply it through a relation,
    e.g. "conversation__" on handoffs). Reads the agent's prefetched teams: no query of its own."""
    teams = list(agent.teams.all())
    q = Q(**{f"{prefix}team_id__in": [team.pk for team in teams]}) | Q(**{f"{prefix}assignee": agent})
    if any(team.slug == settings.HANDOFF_DEFAULT_TEAM for team in teams):
        q |= Q(**{f"{prefix}team__isnull": True, f"{prefix}status": Conversation.Status.BOT})
    return q


def conversation_row_allows(*, user, conversation: Conversation) -> bool:
    """conversation_access_q's rule on a conversation row the caller has just read (under its lock, in
    the services): no query of its own. tests/handoff/test_access_rule.py holds the two to the same answers."""
    if user_is_manager(user):
        return True
    agent = agent_for_user(user)
    if agent is None:
        return False
    teams = list(agent.teams.all())
    if conversation.assignee_id == agent.pk or conversation.team_id in {team.pk for team in teams}:
        return True
    return (
        conversation.team_id is None
        and conversation.status == Conversation.Status.BOT
        and any(team.slug == settings.HANDOFF_DEFAULT_TEAM for team in teams)
    )


def conversations_accessible(*, user) -> QuerySet[Conversation]:
    if user is None or not user.is_authenticated:
        return Conversation.objects.none()
    if user_is_manager(user):
        return Conversation.objects.all()
    agent = agent_for_user(user)
    if agent is None:
        return Conversation.objects.none()
    return Conversation.objects.filter(conversation_access_q(agent=agent))


def conversation_may_access(*, user, conversation_id: int) -> bool:
    return conversations_accessible(user=user).filter(pk=conversation_id).exists()


def conversation_access_denial(*, user, conversation: Conversation) -> str | None:
    """Why `user` may not act on `conversation` now, or None if they may. `user=None` is the system
    (routing, presence, sweeps), which may. Reads the conversation's current team from the database,
    so call it with the conversation locked to act on what you checked."""
    if user is None or conversation_may_access(user=user, conversation_id=conversation.pk):
        return None
    team = Conversation.objects.filter(pk=conversation.pk).values_list("team__name", flat=True).first()
    if team:
        return f"Conversation {conversation.pk} is with the {team} team, and you are not on it."
    return f"Conversation {conversation.pk} is not with a team of yours."
