"""Template contexts shared by the inbox views (HTTP) and the inbox consumer (WebSocket pushes)."""

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from agents.models import Agent, Team
from agents.selectors import agents_with_load
from chat.models import Conversation
from handoff.models import Handoff
from handoff.selectors import handoff_open
from inbox.lists import VIEWS, customer_history, view_counts
from inbox.selectors import inbox_mine, inbox_queue, visitor_sentiments
from inbox.templatetags.inbox_tags import sentiment_trend
from inbox.transcript import transcript_entries, transfer_note_open
from inbox.triage import SNOOZE_CHOICES

SIDEBAR_QUEUE = 50  # the rest are a click away in the Unassigned view
# What the sidebar's rows show. It is re-rendered on every queue change for every open inbox, so its
# rows load only these columns (a handoff's summary, context and trigger JSON are a few kB each).
_SIDEBAR_ROW_FIELDS = (
    "conversation_id",
    "priority",
    "reason",
    "requested_at",
    "team__name",
    "conversation__customer__name",
    "conversation__customer__email",
    "conversation__customer__public_id",
    "conversation__customer__attributes",
)


def sidebar_context(*, user, agent: Agent | None) -> dict:
    queue = list(_sidebar_rows(inbox_queue(user=user).filter(_awake()))[:SIDEBAR_QUEUE])
    mine = list(_sidebar_rows(inbox_mine(agent=agent)))
    counts = view_counts(user=user, agent=agent)
    return {
        "agent": agent,
        "queue": queue,
        "queue_count": counts["queue"],
        "queue_more": max(counts["queue"] - len(queue), 0),
        "mine": mine,
        "unread_total": sum(handoff.unread for handoff in mine),
        "statuses": Agent.Status.choices,
        "views": [(view, counts[view.slug]) for view in VIEWS if view.slug in counts],
        "sla_warn": settings.INBOX_SLA_WARN_SECONDS,
        "sla_breach": settings.INBOX_SLA_BREACH_SECONDS,
    }


def sidebar_queue_joined(*, user, agent: Agent | None, conversation_id: int) -> dict | None:
    """The sidebar's change when `conversation_id` has just joined the queue (a new request), when it
    simply goes at the end of the user's queue: its row and the counts while the sidebar shows every
    waiting row, only the counts and the "and N more waiting" line once it goes beyond the rows shown
    (those stay as they are). Otherwise None: the sidebar is rendered whole (it is ~40 kB with a full
    queue, for every open tab on every change). Two queries: every view's count, and the queue's last row."""
    counts = view_counts(user=user, agent=agent)
    if counts["queue"] < 2:  # an empty list said "Nobody is waiting"
        return None
    last = _sidebar_rows(inbox_queue(user=user).filter(_awake()).reverse()).first()
    if last is None or last.conversation_id != conversation_id:
        return None
    return {
        "handoff": last if counts["queue"] <= SIDEBAR_QUEUE else None,
        "queue_count": counts["queue"],
        "queue_more": max(counts["queue"] - SIDEBAR_QUEUE, 0),
        "views": [(view, counts[view.slug]) for view in VIEWS if view.slug in counts],
    }


def _awake() -> Q:
    """Snoozed ones are out of the queue until they wake (inbox.lists counts them the same way)."""
    return Q(conversation__snoozed_at__isnull=True) | Q(conversation__snoozed_until__lte=timezone.now())


def _sidebar_rows(handoffs):
    return handoffs.select_related(None).select_related("conversation__customer", "team").only(*_SIDEBAR_ROW_FIELDS)


def header_context(*, agent: Agent | None, conversation: Conversation) -> dict:
    handoff = handoff_open(conversation=conversation) or conversation.handoffs.order_by("-requested_at").first()
    teams = Team.objects.order_by("name")
    # Everyone else, with what they are doing: a transfer to someone offline or full helps nobody.
    others = agents_with_load(team=None).order_by("user__first_name", "id")
    if agent is not None:
        others = others.exclude(pk=agent.pk)
    return {
        "conversation": conversation,
        "customer": conversation.customer,
        "handoff": handoff,
        "transfer_agents": others,
        "transfer_teams": teams,
        "can_accept": handoff is not None and handoff.status == Handoff.Status.QUEUED and agent is not None,
        "is_open": conversation.status in (Conversation.Status.QUEUED, Conversation.Status.ASSIGNED),
        "transfer_note": transfer_note_open(conversation_id=conversation.pk) if handoff else None,
        "can_take_over": agent is not None and conversation.status == Conversation.Status.BOT,
        "snoozed": conversation.snoozed_at is not None
        and (conversation.snoozed_until is None or conversation.snoozed_until > timezone.now()),
        "snooze_choices": SNOOZE_CHOICES,
    }


def conversation_context(*, user, agent: Agent | None, conversation: Conversation) -> dict:
    return {
        **sidebar_context(user=user, agent=agent),
        **header_context(agent=agent, conversation=conversation),
        "entries": transcript_entries(conversation=conversation),
        "sentiment_trend": sentiment_trend(visitor_sentiments(conversation=conversation)),
        "history": customer_history(user=user, agent=agent, conversation=conversation),
    }
