"""The inbox's views (Mine, Unassigned, All my teams, Bot live, Snoozed, Resolved), their filters,
search and counts: one query for a page of a list, one for every view's count.

They read the inbox fields the handoff lifecycle copies onto each conversation (team, assignee,
priority, waiting_since, snooze), so a list is one indexed query whatever the history. Who sees
what is `inbox_scope`: a manager everything; an agent their teams' conversations and the ones
they hold, plus live bot conversations never handed off when they are on the default team
(where such a conversation would go).
"""

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.postgres.search import SearchQuery
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from agents.models import Agent, Team
from agents.selectors import user_is_manager
from chat.ids import parse_count
from chat.models import SEARCH_CONFIG, Conversation, Message
from handoff.access import conversations_accessible
from inbox.selectors import unread_count

Status = Conversation.Status
PAGE_SIZE = 50
MAX_QUERY_CHARS = 200
BOT_LIVE_MINUTES = 30  # a bot conversation with activity this recent is "live"


@dataclass(frozen=True)
class View:
    slug: str
    label: str
    agents_only: bool = False  # "Mine" means nothing to a manager without an agent profile


VIEWS = (
    View("mine", "Mine", agents_only=True),
    View("queue", "Unassigned"),
    View("teams", "All my teams"),
    View("bot", "Bot conversations live"),
    View("snoozed", "Snoozed"),
    View("resolved", "Resolved"),
)
VIEW_SLUGS = {view.slug for view in VIEWS}


@dataclass
class Filters:
    """What the list's filter form asks for; `filters_parse` turns bad values into no filter."""

    view: str = "teams"
    team: int | None = None
    status: str = ""
    tag: str = ""
    priority: int | None = None  # at least
    waiting: int | None = None  # waiting for a person at least this many minutes
    channel: str = ""
    q: str = ""
    page: int = 1
    errors: list[str] = field(default_factory=list)

    def querystring(self, **changes) -> str:
        values = {
            "view": self.view,
            "team": self.team,
            "status": self.status,
            "tag": self.tag,
            "priority": self.priority,
            "waiting": self.waiting,
            "channel": self.channel,
            "q": self.q,
        }
        values.update(changes)
        return urlencode({key: value for key, value in values.items() if value not in (None, "")})


def _int(value: str, *, low: int, high: int) -> int | None:
    value = value.strip()
    number = parse_count(value.removeprefix("-"))
    if number is None or len(value) > 6:
        return None
    return min(max(-number if value.startswith("-") else number, low), high)


def _text(value: str, limit: int) -> str:
    # PostgreSQL refuses NUL bytes in text; lone surrogates cannot be encoded for it either.
    value = value.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")
    return " ".join(value.split())[:limit]


def filters_parse(params, *, default_view: str) -> Filters:
    view = params.get("view", "")
    filters = Filters(
        view=view if view in VIEW_SLUGS else default_view,
        team=_int(params.get("team", ""), low=1, high=2**31 - 1),
        status=params.get("status", "") if params.get("status", "") in Status.values else "",
        tag=_text(params.get("tag", ""), 50),
        priority=_int(params.get("priority", ""), low=-100, high=100),
        waiting=_int(params.get("waiting", ""), low=0, high=100_000),
        channel=params.get("channel", "") if params.get("channel", "") in Conversation.Channel.values else "",
        q=_text(params.get("q", ""), MAX_QUERY_CHARS),
        page=_int(params.get("page", ""), low=1, high=1000) or 1,
    )
    if len(params.get("q", "")) > MAX_QUERY_CHARS:
        filters.errors.append(f"Searched for the first {MAX_QUERY_CHARS} characters only.")
    return filters


def inbox_scope(*, user, agent: Agent | None) -> QuerySet[Conversation]:
    """Every conversation the user's lists may show: exactly what they may open (handoff/access.py)."""
    return conversations_accessible(user=user)


def _snoozed(now) -> Q:
    return Q(snoozed_at__isnull=False) & (Q(snoozed_until__isnull=True) | Q(snoozed_until__gt=now))


def _view_q(view: str, *, agent: Agent | None, now) -> Q:
    awake = ~_snoozed(now)
    open_ = Q(status__in=[Status.QUEUED, Status.ASSIGNED])
    return {
        "mine": Q(assignee=agent, status=Status.ASSIGNED) & awake if agent else Q(pk__in=[]),
        "queue": Q(status=Status.QUEUED) & awake,
        "teams": open_ & awake,
        "bot": Q(status=Status.BOT, last_activity_at__gte=now - dt.timedelta(minutes=BOT_LIVE_MINUTES)) & awake,
        "snoozed": _snoozed(now) & ~Q(status=Status.RESOLVED),
        "resolved": Q(status=Status.RESOLVED),
    }[view]


ORDERING = {
    "queue": ("-priority", F("waiting_since").asc(nulls_last=True), "pk"),
    "mine": (F("waiting_since").asc(nulls_last=True), "-priority", "-last_activity_at"),
    "teams": ("-priority", F("waiting_since").asc(nulls_last=True), "-last_activity_at"),
}


def _search_q(query: str) -> Q:
    """A word in any message (PostgreSQL full text, English stemming), or the visitor's name or email."""
    words = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
    in_messages = Exists(Message.objects.filter(conversation=OuterRef("pk"), search=words))
    return in_messages | Q(customer__name__icontains=query) | Q(customer__email__icontains=query)


def _filter_q(filters: Filters, *, now) -> Q:
    q = Q()
    if filters.team:
        q &= Q(team_id=filters.team)
    if filters.status:
        q &= Q(status=filters.status)
    if filters.tag:
        q &= Q(tags__contains=[filters.tag])  # jsonb @>: the GIN index on tags
    if filters.priority is not None:
        q &= Q(priority__gte=filters.priority)
    if filters.waiting is not None:
        q &= Q(waiting_since__lte=now - dt.timedelta(minutes=filters.waiting))
    if filters.channel:
        q &= Q(channel=filters.channel)
    return q


def _with_list_columns(conversations: QuerySet[Conversation], *, agent: Agent | None) -> QuerySet[Conversation]:
    """Customer, team and assignee joined; the last message's preview and, for an agent, the
    visitor messages they have not read, as subqueries of the same query."""
    latest = Message.objects.filter(conversation=OuterRef("pk")).exclude(sender=Message.Sender.SYSTEM).order_by("-seq")
    conversations = conversations.select_related("customer", "team", "assignee__user").annotate(
        preview=Subquery(latest.values("text")[:1]), preview_sender=Subquery(latest.values("sender")[:1])
    )
    if agent is None:
        return conversations
    return conversations.annotate(unread=unread_count(agent=agent, conversation=OuterRef("pk")))


@dataclass
class InboxList:
    filters: Filters
    conversations: list[Conversation]
    has_more: bool
    searching: bool

    @property
    def next_page(self) -> str:
        return self.filters.querystring(page=self.filters.page + 1)


def inbox_list(*, user, agent: Agent | None, filters: Filters) -> InboxList:
    """A page of the chosen view, filtered; with a search, every status (a past conversation is
    what one usually searches for) unless a status is chosen."""
    now = timezone.now()
    conversations = inbox_scope(user=user, agent=agent).filter(_filter_q(filters, now=now))
    if filters.q:
        conversations = conversations.filter(_search_q(filters.q)).order_by("-last_activity_at")
    else:
        conversations = conversations.filter(_view_q(filters.view, agent=agent, now=now)).order_by(
            *ORDERING.get(filters.view, ("-last_activity_at",))
        )
    start = (filters.page - 1) * PAGE_SIZE
    page = list(_with_list_columns(conversations, agent=agent)[start : start + PAGE_SIZE + 1])
    return InboxList(filters, page[:PAGE_SIZE], len(page) > PAGE_SIZE, bool(filters.q))


def view_counts(*, user, agent: Agent | None) -> dict[str, int]:
    """How many conversations each view holds now, in one aggregate query."""
    now = timezone.now()
    views = [view for view in VIEWS if agent is not None or not view.agents_only]
    aggregates = {view.slug: Count("pk", filter=_view_q(view.slug, agent=agent, now=now)) for view in views}
    return inbox_scope(user=user, agent=agent).aggregate(**aggregates)


def inbox_teams(*, user, agent: Agent | None) -> list[Team]:
    """The teams the team filter offers."""
    if user_is_manager(user) or agent is None:
        return list(Team.objects.order_by("name"))
    return sorted(agent.teams.all(), key=lambda team: team.name)


def customer_history(*, user, agent: Agent | None, conversation: Conversation, limit: int = 10) -> list[Conversation]:
    """The same customer's other conversations (with the bot or a person) this user may see, newest first."""
    others = (
        inbox_scope(user=user, agent=agent)
        .filter(customer_id=conversation.customer_id)
        .exclude(pk=conversation.pk)
        .order_by("-last_activity_at")
    )
    first_words = Message.objects.filter(conversation=OuterRef("pk"), sender=Message.Sender.VISITOR).order_by("seq")
    return list(others.annotate(preview=Subquery(first_words.values("text")[:1]))[:limit])
