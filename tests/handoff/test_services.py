import threading

import pytest
from django.db import connection, transaction

from agents.models import Agent
from chat.models import Conversation, Message
from handoff.models import Handoff, HandoffEvent
from handoff.services import (
    HandoffError,
    conversation_reopen,
    handoff_assign,
    handoff_hand_back,
    handoff_request,
    handoff_resolve,
    handoff_return_to_queue,
    handoff_transfer,
)
from handoff.signals import conversation_resolved
from tests.factories import ConversationFactory, MessageFactory, TeamFactory

pytestmark = pytest.mark.django_db


def statuses(conversation) -> list[tuple[str, str, str]]:
    return list(
        HandoffEvent.objects.filter(conversation=conversation)
        .order_by("id")
        .values_list("action", "from_status", "to_status")
    )


def last_system_message(conversation) -> Message:
    return conversation.messages.filter(sender=Message.Sender.SYSTEM).order_by("-seq").first()


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_a_request_queues_the_conversation_and_tells_the_visitor_the_wait(conversation, open_team, make_agent):
    make_agent("Dana", capacity=1)
    earlier = handoff_request(conversation=ConversationFactory(), reason="first")
    assert earlier.conversation.handoffs.get().agent.public_name == "Dana", "routed at once: Dana had a free slot"

    handoff = handoff_request(conversation=conversation, reason="Visitor asked for a person")

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.QUEUED
    assert (handoff.team, handoff.reason, handoff.status) == (open_team, "Visitor asked for a person", "queued")
    assert statuses(conversation) == [("request", "bot", "queued")]
    notice = last_system_message(conversation)
    assert notice.metadata["kind"] == "handoff_queued"
    assert notice.metadata["wait"]["position"] == 1
    assert notice.metadata["wait"]["estimated_wait_seconds"] == 6 * 60  # no history: 6 min per slot
    assert "number 1 in the queue" in notice.text and "about 6 minutes" in notice.text


def test_asking_again_while_waiting_returns_the_same_handoff(conversation, open_team):
    first = handoff_request(conversation=conversation, reason="button")
    second = handoff_request(conversation=conversation, reason="button again")
    assert first.pk == second.pk
    assert Handoff.objects.filter(conversation=conversation).count() == 1


def test_in_hours_with_nobody_online_the_visitor_is_told_someone_will_come(conversation, open_team):
    handoff_request(conversation=conversation, reason="Visitor asked for a person")
    notice = last_system_message(conversation)
    assert notice.metadata["wait"]["open"] is False
    assert notice.metadata["ask_email"] is False  # not yet: an agent may come online
    assert "as soon as possible" in notice.text and open_team.out_of_hours_message not in notice.text


def test_the_handoff_carries_a_summary_and_the_customers_context(open_team):
    conversation = ConversationFactory(customer__attributes={"plan": "enterprise", "pages": ["/pricing"]})
    MessageFactory(conversation=conversation, text="Can I change the billing email?", sentiment=-0.2)
    MessageFactory(conversation=conversation, sender="bot", text="I'm not sure.", metadata={"confidence": 0.2})
    handoff = handoff_request(conversation=conversation, reason="Bot could not answer")
    assert "1. “Can I change the billing email?” → not answered" in handoff.summary  # no reply_to: not paired
    assert "Handed off because: Bot could not answer" in handoff.summary
    assert handoff.context["customer"]["attributes"]["plan"] == "enterprise"
    assert handoff.context["sentiment_trend"] == [-0.2]
    assert handoff.context["pages"] == ["/pricing"]


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_assigning_records_the_transition_and_tells_the_visitor_who_joined(conversation, make_agent):
    dana = make_agent("Dana")
    handoff = handoff_request(conversation=conversation, reason="x")
    # Dana was online with capacity, so routing assigned her as soon as the request committed.
    handoff.refresh_from_db()
    assert handoff.agent == dana
    assert statuses(conversation)[-1] == ("assign", "queued", "assigned")
    assert last_system_message(conversation).text == "Dana has joined the conversation."


def test_it_rejects_assigning_a_conversation_someone_else_took(conversation, make_agent):
    sam = make_agent("Sam", status=Agent.Status.OFFLINE)
    dana = make_agent("Dana", status=Agent.Status.OFFLINE)
    handoff = handoff_request(conversation=conversation, reason="x")
    handoff_assign(handoff=handoff, agent=sam)
    with pytest.raises(HandoffError, match=f"Conversation {conversation.pk} is already assigned to Sam"):
        handoff_assign(handoff=handoff, agent=dana)


def test_it_rejects_assigning_a_resolved_conversation(conversation, make_agent):
    dana = make_agent("Dana", status=Agent.Status.OFFLINE)
    handoff = handoff_request(conversation=conversation, reason="x")
    handoff_resolve(conversation=conversation)
    with pytest.raises(HandoffError, match="no longer waiting"):
        handoff_assign(handoff=handoff, agent=dana)


@pytest.mark.django_db(transaction=True)
def test_two_agents_accepting_at_the_same_instant_give_exactly_one_assignment(open_team, make_agent):
    """Real concurrent transactions: both threads reach handoff_assign together; one wins."""
    agents = [make_agent("Dana", status=Agent.Status.OFFLINE), make_agent("Sam", status=Agent.Status.OFFLINE)]
    conversation = ConversationFactory()
    handoff = handoff_request(conversation=conversation, reason="race")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def accept(agent: Agent) -> None:
        try:
            barrier.wait()
            handoff_assign(handoff=handoff, agent=agent)
            outcomes[agent.public_name] = "assigned"
        except HandoffError as error:
            outcomes[agent.public_name] = str(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes.values()).count("assigned") == 1, outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "assigned")
    loser_message = next(outcome for outcome in outcomes.values() if outcome != "assigned")
    assert loser_message == f"Conversation {conversation.pk} is already assigned to {winner}."
    assert HandoffEvent.objects.filter(conversation=conversation, action="assign").count() == 1
    handoff.refresh_from_db()
    assert handoff.agent.public_name == winner


def test_transfer_to_a_team_puts_it_back_in_that_teams_queue_with_the_note(conversation, make_agent):
    billing = TeamFactory(name="Billing", slug="billing")
    dana = make_agent("Dana")
    handoff = handoff_request(conversation=conversation, reason="x")
    handoff_transfer(handoff=handoff, to_team=billing, note="Refund over £500", actor=dana.user)
    handoff.refresh_from_db()
    conversation.refresh_from_db()
    assert (handoff.status, handoff.team, handoff.agent, conversation.status) == ("queued", billing, None, "queued")
    event = HandoffEvent.objects.filter(conversation=conversation).last()
    assert (event.action, event.note, event.actor) == ("transfer", "Refund over £500", dana.user)
    assert "Refund" not in last_system_message(conversation).text, "transfer notes are for agents only"


def test_transfer_to_an_agent_hands_it_over_directly(conversation, make_agent):
    dana, sam = make_agent("Dana"), make_agent("Sam", status=Agent.Status.OFFLINE)
    handoff = handoff_request(conversation=conversation, reason="x")
    handoff_transfer(handoff=handoff, to_agent=sam, actor=dana.user)
    handoff.refresh_from_db()
    assert (handoff.status, handoff.agent) == ("assigned", sam)
    assert last_system_message(conversation).text == "Sam is taking over the conversation."


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_returning_to_the_queue_frees_the_conversation_for_another_agent(conversation, make_agent):
    dana = make_agent("Dana")
    handoff = handoff_request(conversation=conversation, reason="x")
    Agent.objects.filter(pk=dana.pk).update(status=Agent.Status.OFFLINE)
    handoff_return_to_queue(handoff=handoff, reason="Dana went offline")
    handoff.refresh_from_db()
    assert (handoff.status, handoff.agent) == ("queued", None)
    assert statuses(conversation)[-1] == ("return_to_queue", "assigned", "queued")


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_resolving_asks_the_visitor_to_rate_the_person_who_helped(conversation, make_agent):
    make_agent("Dana")
    handoff_request(conversation=conversation, reason="x")
    handoff = handoff_resolve(conversation=conversation)
    assert handoff.status == "resolved" and handoff.ended_at is not None
    notice = last_system_message(conversation)
    assert notice.metadata == {"kind": "csat_request", "subject": "human", "agent": "Dana", "handoff_id": handoff.pk}
    with pytest.raises(HandoffError, match="already resolved"):
        handoff_resolve(conversation=conversation)


def test_handing_back_returns_the_conversation_to_the_bot(conversation, make_agent):
    make_agent("Dana")
    handoff = handoff_request(conversation=conversation, reason="x")
    handoff_hand_back(conversation=conversation)
    handoff.refresh_from_db()
    conversation.refresh_from_db()
    assert (handoff.status, conversation.status) == ("handed_back", "bot")
    with pytest.raises(HandoffError, match="already with the bot"):
        handoff_hand_back(conversation=conversation)


def test_a_resolved_conversation_reopens_to_the_bot_by_default(conversation, open_team):
    handoff_request(conversation=conversation, reason="x")
    handoff_resolve(conversation=conversation)
    assert conversation_reopen(conversation=conversation) is None
    conversation.refresh_from_db()
    assert conversation.status == "bot"
    assert statuses(conversation)[-1] == ("reopen", "resolved", "bot")


def test_a_resolved_conversation_can_reopen_to_the_same_team(conversation, settings):
    settings.HANDOFF_REOPEN_TO = "team"
    billing = TeamFactory(slug="billing")
    handoff_request(conversation=conversation, reason="x", team=billing, priority=5)
    handoff_resolve(conversation=conversation)
    reopened = conversation_reopen(conversation=conversation)
    assert (reopened.team, reopened.priority, reopened.status) == (billing, 5, "queued")
    assert [action for action, *_ in statuses(conversation)] == ["request", "resolve", "reopen", "request"]


# Routing runs once the change commits: this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_a_rating_after_a_persons_help_is_about_that_person(conversation, make_agent):
    from handoff.services import rating_submit

    dana = make_agent("Dana")
    handoff_request(conversation=conversation, reason="x")
    handoff_resolve(conversation=conversation)
    rating = rating_submit(conversation=conversation, score=5, comment="  Dana was great ")
    assert (rating.subject, rating.agent, rating.score, rating.comment) == ("human", dana, 5, "Dana was great")
    with pytest.raises(HandoffError, match="already have your rating"):
        rating_submit(conversation=conversation, score=1)


def test_a_rating_of_a_bot_only_conversation_is_about_the_bot(conversation):
    from handoff.services import rating_submit

    with pytest.raises(HandoffError, match="once it is resolved"):
        rating_submit(conversation=conversation, score=4)
    handoff_resolve(conversation=conversation, reason="Visitor ended the chat")
    assert rating_submit(conversation=conversation, score=4).subject == "bot"
    with pytest.raises(HandoffError, match="from 1 to 5"):
        rating_submit(conversation=ConversationFactory(), score=6)


def test_when_the_first_in_line_is_taken_the_others_hear_their_new_position(
    open_team, make_agent, django_capture_on_commit_callbacks
):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    first, second = ConversationFactory(), ConversationFactory()
    handoff_request(conversation=first, reason="x")
    handoff_request(conversation=second, reason="x")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"conversation_{second.pk}", channel)

    dana = make_agent("Dana", status=Agent.Status.OFFLINE)
    with django_capture_on_commit_callbacks(execute=True):
        handoff_assign(handoff=first.handoffs.get(), agent=dana)

    event = async_to_sync(layer.receive)(channel)["event"]
    assert (event["type"], event["reason"], event["detail"]["position"]) == ("status", "Queue update", 1)


# --- Routing and resolution wait for the commit ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_routing_waits_for_the_callers_transaction_to_commit(open_team, make_agent):
    make_agent("Dana")
    conversation = ConversationFactory()
    with transaction.atomic():  # e.g. a trigger rule handing off inside the pipeline's transaction
        handoff = handoff_request(conversation=conversation, reason="x")
        handoff.refresh_from_db()
        assert (handoff.status, handoff.agent) == ("queued", None), "not routed inside the caller's transaction"
    handoff.refresh_from_db()
    assert (handoff.status, handoff.agent.public_name) == ("assigned", "Dana")


@pytest.mark.django_db(transaction=True)
def test_resolving_announces_the_conversation_and_its_handoff_once_committed(open_team, make_agent):
    make_agent("Dana")
    conversation = ConversationFactory()
    handoff = handoff_request(conversation=conversation, reason="x")
    heard = []

    def receiver(sender, **kwargs):
        heard.append(kwargs)

    conversation_resolved.connect(receiver)
    try:
        with transaction.atomic():
            handoff_resolve(conversation=conversation)
            assert heard == [], "announced only once the resolution is committed"
        handoff_resolve(conversation=ConversationFactory(), reason="Visitor ended the chat")
    finally:
        conversation_resolved.disconnect(receiver)
    assert [{k: v for k, v in kwargs.items() if k != "signal"} for kwargs in heard] == [
        {"conversation_id": conversation.pk, "handoff_id": handoff.pk},
        {"conversation_id": Conversation.objects.latest("id").pk, "handoff_id": None},
    ]
