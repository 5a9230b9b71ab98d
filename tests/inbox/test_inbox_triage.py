"""Taking over from the bot, snoozing, tags, bulk actions and the customer's history."""

import datetime as dt
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from chat.models import Conversation
from handoff.models import Handoff, HandoffEvent
from handoff.services import handoff_assign, handoff_request
from inbox.triage import conversation_snooze
from tests.factories import AgentFactory, ConversationFactory, MessageFactory, UserFactory
from tests.inbox.test_inbox_consumer import inbox_socket, receive_until

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def bot_conversation(support_team):
    conversation = ConversationFactory(customer__name="Bo Browser")
    MessageFactory(conversation=conversation, text="Do you ship to Norway?")
    MessageFactory(conversation=conversation, sender="bot", text="We ship to the EU in 4-7 days.")
    return conversation


def test_an_agent_takes_over_a_live_bot_conversation(client, agent, bot_conversation):
    client.force_login(agent.user)
    page = client.get(f"/inbox/c/{bot_conversation.pk}/").content.decode()
    assert "Take over from the bot" in page
    assert client.post(f"/inbox/c/{bot_conversation.pk}/take-over/", **HX).status_code == 204
    handoff = Handoff.objects.get(conversation=bot_conversation)
    assert (handoff.source, handoff.status, handoff.agent) == ("agent", "assigned", agent)
    bot_conversation.refresh_from_db()
    assert (bot_conversation.status, bot_conversation.assignee, bot_conversation.waiting_since) == (
        "assigned",
        agent,
        None,
    )
    assert list(bot_conversation.handoff_events.values_list("action", flat=True)) == ["request", "assign"]
    told = list(bot_conversation.messages.filter(sender="system").values_list("text", flat=True))
    assert told == ["Dana has joined the conversation."], "no queue message for a visitor nobody made wait"


def test_taking_over_twice_tells_the_second_agent_who_has_it(client, agent, support_team, bot_conversation):
    sam = AgentFactory(user=UserFactory(username="sam", first_name="Sam"), teams=[support_team])
    client.force_login(sam.user)
    client.post(f"/inbox/c/{bot_conversation.pk}/take-over/", **HX)
    client.force_login(agent.user)
    response = client.post(f"/inbox/c/{bot_conversation.pk}/take-over/", **HX)
    assert response.status_code == 422 and "already with Sam" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_agents_taking_over_at_once_make_one_handoff(agent, support_team, bot_conversation):
    from inbox.triage import conversation_take_over

    sam = AgentFactory(user=UserFactory(username="sam", first_name="Sam"), teams=[support_team])
    barrier, outcomes = threading.Barrier(2), []

    def take(who):
        try:
            barrier.wait()
            conversation_take_over(conversation=bot_conversation, agent=who)
            outcomes.append("won")
        except Exception as error:  # the loser's domain error
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(who,)) for who in (agent, sam)]
    [thread.start() for thread in threads]
    [thread.join(10) for thread in threads]
    assert sorted(outcomes)[-1] == "won" and "already with" in sorted(outcomes)[0]
    assert Handoff.objects.filter(conversation=bot_conversation).count() == 1


def test_another_teams_agent_cannot_take_over(client, billing_agent, bot_conversation):
    client.force_login(billing_agent.user)
    assert client.post(f"/inbox/c/{bot_conversation.pk}/take-over/", **HX).status_code == 404


def test_snooze_until_the_visitor_replies_and_their_message_wakes_it(client, agent, queued_conversation):
    client.force_login(agent.user)
    assert client.post(f"/inbox/c/{queued_conversation.pk}/snooze/", {"for": "reply"}, **HX).status_code == 204
    queued_conversation.refresh_from_db()
    assert queued_conversation.snoozed_at is not None and queued_conversation.snoozed_until is None
    page = client.get("/inbox/", {"view": "snoozed"}, **HX).content.decode()
    assert f'data-conversation="{queued_conversation.pk}"' in page
    assert (
        f'data-conversation="{queued_conversation.pk}"'
        not in client.get("/inbox/", {"view": "queue"}, **HX).content.decode()
    )

    MessageFactory(conversation=queued_conversation, text="Hello? Still there?")
    page = client.get("/inbox/", {"view": "queue"}, **HX).content.decode()
    assert f'data-conversation="{queued_conversation.pk}"' in page


def test_a_snooze_until_a_time_ends_by_itself(client, agent, queued_conversation):
    conversation_snooze(conversation=queued_conversation, until=timezone.now() - dt.timedelta(seconds=1))
    client.force_login(agent.user)
    page = client.get("/inbox/", {"view": "queue"}, **HX).content.decode()
    assert f'data-conversation="{queued_conversation.pk}"' in page


def test_only_open_conversations_can_be_snoozed_and_bad_choices_are_explained(client, agent, bot_conversation):
    client.force_login(agent.user)
    handoff_request(conversation=bot_conversation, reason="x")
    response = client.post(f"/inbox/c/{bot_conversation.pk}/snooze/", {"for": "forever"}, **HX)
    assert response.status_code == 422 and "Choose how long" in response.content.decode()
    Conversation.objects.filter(pk=bot_conversation.pk).update(status="resolved")
    response = client.post(f"/inbox/c/{bot_conversation.pk}/snooze/", {"for": "1h"}, **HX)
    assert "only open conversations can be snoozed" in response.content.decode()


@pytest.mark.django_db(transaction=True)
async def test_a_woken_conversation_comes_back_to_the_teams_lists_live(agent, queued_conversation):
    await database_sync_to_async(conversation_snooze)(conversation=queued_conversation, until=None)
    communicator = await inbox_socket(agent.user)
    assert (await communicator.connect())[0]
    await database_sync_to_async(MessageFactory)(conversation=queued_conversation, text="Back again")
    frame = await receive_until(communicator, 'id="sidebar"')
    assert 'id="count-snoozed">0<' in frame and 'id="count-queue">1<' in frame
    await communicator.disconnect()


def test_agents_add_and_remove_tags_and_bad_tags_are_explained(client, agent, queued_conversation):
    client.force_login(agent.user)
    base = f"/inbox/c/{queued_conversation.pk}/tags/"
    client.post(base, {"add": "Refund Request"}, **HX)
    client.post(base, {"add": "vip"}, **HX)
    queued_conversation.refresh_from_db()
    assert queued_conversation.tags == ["refund-request", "vip"]
    client.post(base, {"remove": "vip"}, **HX)
    queued_conversation.refresh_from_db()
    assert queued_conversation.tags == ["refund-request"]
    response = client.post(base, {"add": "<script>\x00"}, **HX)
    assert response.status_code == 422 and "A tag is 1 to 30 letters" in response.content.decode()
    page = client.get(f"/inbox/c/{queued_conversation.pk}/").content.decode()
    assert 'aria-label="Remove tag refund-request"' in page


def test_bulk_actions_go_through_the_services_and_report_what_could_not_be_done(
    client, agent, support_team, billing_team, always_open
):
    mine = []
    for name in ("One", "Two"):
        conversation = ConversationFactory(customer__name=name)
        handoff_request(conversation=conversation, reason="x", team=support_team)
        mine.append(conversation.pk)
    taken = ConversationFactory(customer__name="Taken")
    sam = AgentFactory(user=UserFactory(username="sam", first_name="Sam"), teams=[support_team])
    handoff_assign(handoff=handoff_request(conversation=taken, reason="x", team=support_team), agent=sam)
    other_team = ConversationFactory(customer__name="Elsewhere")
    handoff_request(conversation=other_team, reason="x", team=billing_team)

    client.force_login(agent.user)
    ids = [*mine, taken.pk, other_team.pk]
    response = client.post("/inbox/bulk/", {"ids": ids, "action": "assign_me"}, **HX)
    assert "2 conversations assigned to you." in response.content.decode()
    assert f"Conversation {taken.pk} is already assigned to Sam." in response.content.decode()
    assert set(Conversation.objects.filter(assignee=agent).values_list("pk", flat=True)) == set(mine)
    assert Conversation.objects.get(pk=other_team.pk).assignee is None, "another team's is never touched"

    client.post("/inbox/bulk/", {"ids": ids, "action": "tag", "tag": "billing-run"}, **HX)
    assert Conversation.objects.filter(tags__contains=["billing-run"]).count() == 3
    client.post("/inbox/bulk/", {"ids": mine, "action": "resolve"}, **HX)
    assert Conversation.objects.filter(pk__in=mine, status="resolved").count() == 2
    assert HandoffEvent.objects.filter(conversation_id__in=mine, action="resolve").count() == 2
    response = client.post("/inbox/bulk/", {"ids": ["x"], "action": "resolve"}, **HX)
    assert "Tick the conversations" in response.content.decode()


def test_the_context_panel_lists_the_customers_earlier_conversations_one_click_away(
    client, agent, support_team, billing_team, queued_conversation
):
    customer = queued_conversation.customer
    earlier_bot = ConversationFactory(customer=customer)
    MessageFactory(conversation=earlier_bot, text="Do you sell gift cards?")
    Conversation.objects.filter(pk=earlier_bot.pk).update(status="resolved", team=support_team)
    elsewhere = ConversationFactory(customer=customer)
    handoff_request(conversation=elsewhere, reason="x", team=billing_team)
    client.force_login(agent.user)
    page = client.get(f"/inbox/c/{queued_conversation.pk}/").content.decode()
    assert f'href="/inbox/c/{earlier_bot.pk}/"' in page and "Do you sell gift cards?" in page
    assert f'href="/inbox/c/{elsewhere.pk}/"' not in page, "another team's conversation stays hidden"


@pytest.mark.django_db(transaction=True)
async def test_a_timed_snooze_ends_by_the_beat_task_and_the_inboxes_hear_of_it(agent, queued_conversation):
    from inbox.tasks import wake_snoozed_conversations

    await database_sync_to_async(conversation_snooze)(
        conversation=queued_conversation, until=timezone.now() - dt.timedelta(seconds=1)
    )
    communicator = await inbox_socket(agent.user)
    assert (await communicator.connect())[0]
    assert await database_sync_to_async(wake_snoozed_conversations)() == 1
    frame = await receive_until(communicator, 'id="sidebar"')
    assert 'id="count-queue">1<' in frame
    assert await database_sync_to_async(wake_snoozed_conversations)() == 0
    await communicator.disconnect()
    conversation = await database_sync_to_async(Conversation.objects.get)(pk=queued_conversation.pk)
    assert conversation.snoozed_at is None
