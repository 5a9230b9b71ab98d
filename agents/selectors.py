"""Reads about agents and teams: the default team, who is online and how loaded, who a user is."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, F, Q, QuerySet, Value

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
    """The active user of that id (None if gone or deactivated) with their agent profile and its teams,
    in one query, agent_for_user primed: what an inbox socket checks before each push."""
    agent_teams = ArrayAgg("agent__teams", filter=Q(agent__teams__isnull=False), default=Value([]))
    user = (
        get_user_model()
        .objects.filter(pk=user_id, is_active=True)
        .select_related("agent")
        .annotate(agent_team_ids=agent_teams)
        .first()
    )
    if user is not None:
        agent = getattr(user, "agent", None)  # the reverse one-to-one is cached, None included
        if agent is not None:
            _teams_attach(agent, team_ids=user.agent_team_ids)
            agent.user = user
        user._inbox_agent = agent
    return user


def agent_for_user(user) -> Agent | None:
    """The user's agent profile with its teams (one query), looked up once per user object (one request)."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_inbox_agent"):
        teams = ArrayAgg("teams", filter=Q(teams__isnull=False), default=Value([]))
        agent = Agent.objects.filter(user=user).annotate(team_ids=teams).first()
        if agent is not None:
            _teams_attach(agent, team_ids=agent.team_ids)
            # Linked both ways: an agent's reply names its author (user.agent) without another query.
            agent.user = user
        user._inbox_agent = agent
    return user._inbox_agent


def _teams_attach(agent: Agent, *, team_ids: list[int]) -> None:
    """Give `agent.teams.all()` its teams without a query, as prefetch_related("teams") would: which
    teams is read with the agent (above), the teams themselves come from the per-process cache every
    handoff reads (agents.hours), or from the database for one newer than the cache."""
    cached = teams_hours()
    if all(pk in cached for pk in team_ids):
        teams = [cached[pk] for pk in sorted(team_ids)]
    else:
        teams = list(Team.objects.filter(pk__in=team_ids).order_by("pk"))
    attached = agent.teams.all()
    attached._result_cache, attached._prefetch_done = teams, True  # what prefetch_related stores
    agent._prefetched_objects_cache = {"teams": attached}
