"""Replying requires owning the conversation: a reply to a waiting visitor accepts it, race-safely;
a reply to another agent's conversation is refused with the reason."""

import threading

import pytest
from django.db import connection

from chat.models import Conversation, Message
from handoff.models import Handoff, HandoffEvent
from handoff.services import HandoffError, handoff_assign, handoff_request
from inbox.services import agent_reply

pytestmark = pytest.mark.django_db


def test_replying_to_a_waiting_conversation_accepts_it_and_times_the_first_reply(conversation, make_agent):
    dana = make_agent("Dana", capacity=0)  # full, so routing leaves the queue alone
    handoff_request(conversation=conversation, reason="Visitor asked")

    reply = agent_reply(agent_user=dana.user, conversation=conversation, text="Hi, Dana here.")

    handoff = Handoff.objects.get(conversation=conversation)
    assert (handoff.status, handoff.agent) == (Handoff.Status.ASSIGNED, dana)
    assert handoff.first_agent_reply_at == reply.created_at
    assert Conversation.objects.get(pk=conversation.pk).status == Conversation.Status.ASSIGNED
    assert handoff.events.filter(action=HandoffEvent.Action.ASSIGN, reason="Accepted by replying").exists()
    joined = conversation.messages.get(metadata__kind="agent_joined")
    assert joined.seq < reply.seq  # the visitor reads who joined, then their reply


def test_replying_to_another_agents_conversation_is_refused(conversation, make_agent):
    dana, sam = make_agent("Dana", capacity=0), make_agent("Sam", capacity=0)
    handoff_assign(handoff=handoff_request(conversation=conversation, reason="Visitor asked"), agent=sam)

    with pytest.raises(HandoffError, match="is with Sam"):
        agent_reply(agent_user=dana.user, conversation=conversation, text="Let me jump in")

    assert not conversation.messages.filter(sender=Message.Sender.AGENT).exists()
    assert Handoff.objects.get(conversation=conversation).agent == sam


@pytest.mark.django_db(transaction=True)
def test_of_two_agents_replying_to_a_waiting_visitor_at_once_exactly_one_gets_it(conversation, make_agent):
    agents = [make_agent("Dana", capacity=0), make_agent("Sam", capacity=0)]
    handoff_request(conversation=conversation, reason="Visitor asked")
    start, outcomes = threading.Barrier(2), []

    def reply(agent):
        try:
            start.wait()
            agent_reply(agent_user=agent.user, conversation=conversation, text=f"{agent.public_name} here")
            outcomes.append("sent")
        except HandoffError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=reply, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    refused = [outcome for outcome in outcomes if outcome != "sent"]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    (sent,) = conversation.messages.filter(sender=Message.Sender.AGENT)
    winner = Handoff.objects.get(conversation=conversation).agent.public_name
    assert sent.text == f"{winner} here" and f"is with {winner}" in refused[0]
