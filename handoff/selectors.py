from chat.models import Conversation
from handoff.models import Handoff


def handoff_open(*, conversation: Conversation) -> Handoff | None:
    """The conversation's waiting or assigned handoff, if any (there is at most one)."""
    return conversation.handoffs.filter(status__in=Handoff.OPEN_STATUSES).first()
