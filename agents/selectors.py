from django.conf import settings
from django.db.models import Count, F, Q, QuerySet

from agents.models import Agent, Team


def team_default() -> Team | None:
    """Where a handoff goes when no rule names a team: HANDOFF_DEFAULT_TEAM (a slug), else the first team."""
    slug = getattr(settings, "HANDOFF_DEFAULT_TEAM", "support")
    return Team.objects.filter(slug=slug).first() or Team.objects.order_by("id").first()


def agents_with_load(*, team: Team | None) -> QuerySet[Agent]:
    """Agents of the team (any team if None), each annotated with `load`: conversations they hold now."""
    agents = Agent.objects.select_related("user").annotate(
        load=Count("handoffs", filter=Q(handoffs__status="assigned"), distinct=True)
    )
    if team is not None:
        agents = agents.filter(teams=team)
    return agents


def agents_available(*, team: Team | None) -> QuerySet[Agent]:
    """Online agents of the team with a free slot, least loaded first, then whoever waited longest."""
    return (
        agents_with_load(team=team)
        .filter(status=Agent.Status.ONLINE, user__is_active=True, load__lt=F("max_concurrent"))
        .order_by("load", F("last_assigned_at").asc(nulls_first=True), "id")
    )


def agents_online(*, team: Team | None) -> QuerySet[Agent]:
    return agents_with_load(team=team).filter(status=Agent.Status.ONLINE, user__is_active=True)


def user_is_manager(user) -> bool:
    """Managers (staff) see every team's conversations; agents only their teams'."""
    return bool(user.is_active and (user.is_staff or user.is_superuser))


def agent_for_user(user) -> Agent | None:
    """The user's agent profile with its teams, looked up once per user object (one request)."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_inbox_agent"):
        user._inbox_agent = Agent.objects.filter(user=user).prefetch_related("teams").first()
    return user._inbox_agent


def conversations_visible_to(*, user) -> QuerySet:
    """The conversations this user may open: all for managers; for agents, those handed to their
    teams or to them. Every inbox view and WebSocket subscription goes through this."""
    from chat.models import Conversation

    if user_is_manager(user):
        return Conversation.objects.all()
    agent = agent_for_user(user)
    if agent is None:
        return Conversation.objects.none()
    return Conversation.objects.filter(Q(handoffs__team__in=agent.teams.all()) | Q(handoffs__agent=agent)).distinct()


def handoffs_visible_to(*, user) -> QuerySet:
    from handoff.models import Handoff

    handoffs = Handoff.objects.select_related("conversation__customer", "team", "agent__user")
    if user_is_manager(user):
        return handoffs
    agent = agent_for_user(user)
    if agent is None:
        return handoffs.none()
    return handoffs.filter(Q(team__in=agent.teams.all()) | Q(agent=agent))


def inbox_queue(*, user) -> QuerySet:
    """Waiting conversations the user can pick up: highest priority first, then longest waiting."""
    from handoff.models import Handoff

    return handoffs_visible_to(user=user).filter(status=Handoff.Status.QUEUED).order_by("-priority", "requested_at")


def inbox_mine(*, agent: Agent | None) -> QuerySet:
    """The agent's open conversations, each with `unread`: visitor messages after their read marker."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from agents.models import ConversationRead
    from chat.models import Message
    from handoff.models import Handoff

    if agent is None:
        return Handoff.objects.none()
    read_up_to = ConversationRead.objects.filter(agent=agent, conversation=OuterRef("conversation")).values(
        "last_read_seq"
    )
    unread = (
        Message.objects.filter(conversation=OuterRef("conversation"), sender=Message.Sender.VISITOR)
        .filter(seq__gt=Coalesce(Subquery(read_up_to), 0))
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        Handoff.objects.filter(agent=agent, status=Handoff.Status.ASSIGNED)
        .select_related("conversation__customer", "team")
        .annotate(unread=Coalesce(Subquery(unread), 0))
        .order_by("-conversation__last_activity_at")
    )
