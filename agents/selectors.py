"""Reads about agents and teams: the default team, who is online and how loaded, who a user is."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet

from agents.hours import teams_hours
from agents.models import MANAGER_PERMISSION, Agent, Team


def team_default() -> Team | None:
    """Where a handoff goes when no rule names a team: HANDOFF_DEFAULT_TEAM (a slug), else the first team.
    Read through the per-process cache of the teams' hours (agents.hours), which every handoff request
    reads anyway: no query of its own."""
    teams = teams_hours().values()
    named = next((team for team in teams if team.slug == settings.HANDOFF_DEFAULT_TEAM), None)
    return named or min(teams, key=lambda team: team.pk, default=None)


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
    """Managers see every team's conversations and the reports; agents only their teams'.

    A manager is an active superuser, or an active staff user with MANAGER_PERMISSION (the
    "Managers" group): `is_staff` alone opens the admin, not every team. Non-staff users are
    answered without a query (agents' inbox pages count their queries).
    """
    if not (user.is_authenticated and user.is_active):
        return False
    return bool(user.is_superuser or (user.is_staff and user.has_perm(MANAGER_PERMISSION)))


def user_active_with_agent(*, user_id: int):
    """The active user of that id (None if gone or deactivated), with their agent profile and its teams
    in two queries (user and agent in one) and agent_for_user primed: what an inbox socket checks
    before each push."""
    user = (
        get_user_model()
        .objects.filter(pk=user_id, is_active=True)
        .select_related("agent")
        .prefetch_related("agent__teams")
        .first()
    )
    if user is not None:
        agent = getattr(user, "agent", None)  # the reverse one-to-one is cached, None included
        if agent is not None:
            agent.user = user
        user._inbox_agent = agent
    return user


def agent_for_user(user) -> Agent | None:
    """The user's agent profile with its teams, looked up once per user object (one request)."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_inbox_agent"):
        agent = Agent.objects.filter(user=user).prefetch_related("teams").first()
        if agent is not None:
            # Linked both ways: an agent's reply names its author (user.agent) without another query.
            agent.user = user
        user._inbox_agent = agent
    return user._inbox_agent
