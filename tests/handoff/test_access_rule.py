"""The services check access on the conversation row they have locked (handoff.access.conversation_row_allows,
no query); the inbox's lists and sockets filter with conversation_access_q. One rule, two forms: for every
kind of user and conversation both must give the same answer."""

import pytest

from chat.models import Conversation
from handoff.access import conversation_may_access, conversation_row_allows
from tests.factories import AgentFactory, ConversationFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = Conversation.Status


@pytest.fixture
def people():
    support = TeamFactory(slug="support", name="Support")  # HANDOFF_DEFAULT_TEAM
    billing = TeamFactory(slug="billing", name="Billing")
    dana = AgentFactory(user=UserFactory(username="dana"), teams=[support])
    bill = AgentFactory(user=UserFactory(username="bill"), teams=[billing])
    both = AgentFactory(user=UserFactory(username="both"), teams=[support, billing])
    loner = AgentFactory(user=UserFactory(username="loner"))  # no team
    manager = UserFactory(username="morgan", is_staff=True, is_superuser=True)
    customer = UserFactory(username="nobody")  # no agent profile, not a manager
    users = [dana.user, bill.user, both.user, loner.user, manager, customer]
    conversations = [
        ConversationFactory(status=Status.BOT),  # no team yet: the default team's to watch
        ConversationFactory(status=Status.RESOLVED),  # no team, over
        ConversationFactory(status=Status.QUEUED, team=support),
        ConversationFactory(status=Status.QUEUED, team=billing),
        ConversationFactory(status=Status.ASSIGNED, team=billing, assignee=loner),
        ConversationFactory(status=Status.ASSIGNED, team=support, assignee=dana),
        ConversationFactory(status=Status.RESOLVED, team=billing),
    ]
    return users, conversations


def test_the_row_rule_gives_the_same_answers_as_the_queryset_rule(people):
    users, conversations = people
    answers = set()
    for user in users:
        for conversation in conversations:
            row = Conversation.objects.get(pk=conversation.pk)
            allowed = conversation_row_allows(user=user, conversation=row)
            assert allowed == conversation_may_access(user=user, conversation_id=row.pk), (user, row.status)
            answers.add(allowed)
    assert answers == {True, False}, "both answers are exercised"
