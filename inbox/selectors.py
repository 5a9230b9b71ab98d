"""What a user may see in the inbox, and the inbox's lists. Every inbox view and WebSocket
subscription resolves conversations through `conversations_visible_to`."""

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from agents.models import Agent, ConversationRead
from agents.selectors import agent_for_user, user_is_manager
from chat.models import Conversation, Message
from handoff.access import conversation_access_q, conversations_accessible
from handoff.models import Handoff


def conversations_visible_to(*, user) -> QuerySet[Conversation]:
    """The conversations this user may open: all for managers; for agents, those assigned to them or
    with one of their teams now, and bot conversations for the default team (handoff/access.py; an
    earlier handoff to their team grants nothing)."""
    return conversations_accessible(user=user)


def visible_conversation(*, user, conversation_id: int) -> Conversation | None:
    return conversations_visible_to(user=user).select_related("customer").filter(pk=conversation_id).first()


def handoffs_visible_to(*, user) -> QuerySet[Handoff]:
    handoffs = Handoff.objects.select_related("conversation__customer", "team", "agent__user")
    if user_is_manager(user):
        return handoffs
    agent = agent_for_user(user)
    if agent is None:
        return handoffs.none()
    return handoffs.filter(conversation_access_q(agent=agent, prefix="conversation__"))


def inbox_queue(*, user) -> QuerySet[Handoff]:
    """Waiting conversations the user can pick up: highest priority first, then longest waiting."""
    return handoffs_visible_to(user=user).filter(status=Handoff.Status.QUEUED).order_by("-priority", "requested_at")


def unread_count(*, agent: Agent, conversation: OuterRef):
    """A subquery: the visitor's messages in `conversation` after the agent's read marker."""
    read_up_to = ConversationRead.objects.filter(agent=agent, conversation=conversation).values("last_read_seq")
    unread = (
        Message.objects.filter(conversation=conversation, sender=Message.Sender.VISITOR)
        .filter(seq__gt=Coalesce(Subquery(read_up_to), 0))
        .order_by()
        .values("conversation")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(unread), 0)


def inbox_mine(*, agent: Agent | None) -> QuerySet[Handoff]:
    """The agent's open conversations, each with `unread`: visitor messages after their read marker."""
    if agent is None:
        return Handoff.objects.none()
    return (
        Handoff.objects.filter(agent=agent, status=Handoff.Status.ASSIGNED)
        .select_related("conversation__customer", "team")
        .annotate(unread=unread_count(agent=agent, conversation=OuterRef("conversation")))
        .order_by("-conversation__last_activity_at")
    )


def visitor_sentiments(*, conversation: Conversation, last: int = 5) -> list[float]:
    """The sentiment of the visitor's latest scored messages, oldest first (the trend in the context panel)."""
    scores = (
        conversation.messages.filter(sender=Message.Sender.VISITOR, sentiment__isnull=False)
        .order_by("-seq")
        .values_list("sentiment", flat=True)[:last]
    )
    return list(reversed(scores))
