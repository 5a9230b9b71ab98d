"""The agent's working tools around a conversation (issue 11): transfer notes, the transfer list,
suggested passages, sentiment, presence, history and the lists."""

import pytest
from channels.db import database_sync_to_async

from agents.models import Agent
from chat.models import Message
from handoff.models import Handoff
from handoff.services import handoff_assign, handoff_transfer
from knowledge.demo import load_demo_knowledge_base
from tests.factories import MessageFactory
from tests.inbox.test_inbox_consumer import inbox_socket, receive_until

pytestmark = pytest.mark.django_db


def transfer_to_bea(*, agent, billing_agent, conversation, note: str) -> None:
    handoff = handoff_assign(handoff=Handoff.objects.get(conversation=conversation), agent=agent)
    handoff_transfer(handoff=handoff, to_agent=billing_agent, note=note, actor=agent.user)


def test_the_receiving_agent_reads_the_transfer_note_in_the_transcript_and_header(
    client, agent, billing_agent, queued_conversation
):
    transfer_to_bea(agent=agent, billing_agent=billing_agent, conversation=queued_conversation, note="<b>Refund</b> 50")
    client.force_login(billing_agent.user)
    page = client.get(f"/inbox/c/{queued_conversation.pk}/").content.decode()
    assert 'class="msg msg-event"' in page
    assert "Transferred by Dana to Bea" in page and "&lt;b&gt;Refund&lt;/b&gt; 50" in page
    assert "<b>Refund</b>" not in page
    assert "Note from Dana" in page  # in the header too, while the handoff is open
    assert not Message.objects.filter(text__contains="Refund</b>").exists(), "the visitor's chat never has it"


@pytest.mark.django_db(transaction=True)
async def test_the_receiving_agent_is_notified_with_the_note(agent, billing_agent, queued_conversation):
    communicator = await inbox_socket(billing_agent.user)
    assert (await communicator.connect())[0]
    await database_sync_to_async(transfer_to_bea)(
        agent=agent, billing_agent=billing_agent, conversation=queued_conversation, note="Wants a refund of 50"
    )
    frame = await receive_until(communicator, 'id="cue"')
    assert "Wants a refund of 50" in frame and "from Dana" in frame
    await communicator.disconnect()


def test_the_transfer_list_defaults_to_the_conversations_team_and_leaves_out_oneself(
    client, agent, billing_agent, queued_conversation
):
    handoff_assign(handoff=Handoff.objects.get(conversation=queued_conversation), agent=agent)
    client.force_login(agent.user)
    page = client.get(f"/inbox/c/{queued_conversation.pk}/").content.decode()
    support = queued_conversation.handoffs.get().team
    assert f'<option value="team:{support.pk}" selected>' in page  # not Billing, first alphabetically
    assert f'value="agent:{agent.pk}"' not in page
    assert f'<option value="agent:{billing_agent.pk}">Bea · Offline · 0 of 3 conversations</option>' in page


@pytest.fixture
def demo_kb(db):
    load_demo_knowledge_base()


def suggestions_page(client, user, conversation) -> str:
    client.force_login(user)
    return client.get(f"/inbox/c/{conversation.pk}/suggestions/").content.decode()


def test_suggestions_follow_the_visitors_open_needs_not_the_latest_noise(client, agent, demo_kb, queued_conversation):
    # The fixture's visitor asked where their order is; then come another need and noise.
    MessageFactory(conversation=queued_conversation, text="Also, can I cancel my order?")
    MessageFactory(conversation=queued_conversation, text="<b></b> <br>")
    MessageFactory(conversation=queued_conversation, text="ok thanks")
    page = suggestions_page(client, agent.user, queued_conversation)
    assert "Tracking your order" in page and "Changing or cancelling an order" in page
    assert "Where is my order" in page and "can I cancel my order?" in page  # what they are based on
    assert "ok thanks" not in page


def test_needs_the_agent_has_answered_give_way_to_the_next_one(client, agent, demo_kb, queued_conversation):
    handoff_assign(handoff=queued_conversation.handoffs.get(), agent=agent)
    MessageFactory(conversation=queued_conversation, sender="agent", author=agent.user, text="It ships today.")
    MessageFactory(conversation=queued_conversation, text="How much is express shipping?")
    page = suggestions_page(client, agent.user, queued_conversation)
    assert "Shipping times and costs" in page
    assert "Where is my order" not in page


def test_a_conversation_of_only_noise_suggests_nothing(client, agent, demo_kb, queued_conversation):
    queued_conversation.messages.filter(sender="visitor").update(text="<p>&nbsp;</p>")
    page = suggestions_page(client, agent.user, queued_conversation)
    assert "The visitor has not asked anything yet." in page


def test_suggestions_are_for_agents_who_may_see_the_conversation(client, billing_agent, queued_conversation):
    client.force_login(billing_agent.user)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/suggestions/").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_suggestions_refresh_when_the_visitor_writes(agent, queued_conversation):
    communicator = await inbox_socket(agent.user, f"?conversation={queued_conversation.pk}")
    assert (await communicator.connect())[0]
    await database_sync_to_async(MessageFactory)(conversation=queued_conversation, text="And returns?")
    frame = await receive_until(communicator, 'id="suggestions"')
    assert 'hx-trigger="load"' in frame and f"/inbox/c/{queued_conversation.pk}/suggestions/" in frame
    await database_sync_to_async(MessageFactory)(
        conversation=queued_conversation, sender="bot", text="Returns are free within 30 days."
    )
    frame = await receive_until(communicator, 'id="transcript"')
    assert 'id="suggestions"' not in frame, "only the visitor's messages change their needs"
    await communicator.disconnect()


def test_sentiment_reads_as_a_label_with_its_trend_not_a_raw_number(client, agent, queued_conversation):
    MessageFactory(conversation=queued_conversation, text="This is taking forever", sentiment=-0.2)
    MessageFactory(conversation=queued_conversation, text="Useless, I am furious", sentiment=-0.8)
    queued_conversation.messages.filter(text__startswith="Where is").update(sentiment=0.3)
    type(queued_conversation).objects.filter(pk=queued_conversation.pk).update(sentiment=-0.8)
    client.force_login(agent.user)
    page = client.get(f"/inbox/c/{queued_conversation.pk}/").content.decode()
    assert ">-0.20<" not in page and ">-0.80<" not in page
    assert 'class="sentiment sentiment-negative" title="Sentiment -0.20 (from -1 to 1)">Negative</span>' in page
    assert ">Very negative</span>" in page
    assert "getting worse" in page


def test_an_agent_made_away_while_gone_is_told_why_and_goes_online_in_one_click(client, agent):
    from handoff.presence import agent_mark_away_if_gone

    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.ONLINE)
    assert agent_mark_away_if_gone(agent_id=agent.pk, connected_tabs=0)
    client.force_login(agent.user)
    page = client.get("/inbox/").content.decode()
    assert 'role="status"' in page and "You are away: all inbox tabs closed" in page
    assert '<button type="submit" name="status" value="online" class="primary">Go online</button>' in page

    response = client.post("/inbox/status/", {"status": "online"}, HTTP_HX_REQUEST="true")
    assert "You are away" not in response.content.decode()
    assert Agent.objects.get(pk=agent.pk).status == Agent.Status.ONLINE


def test_an_agent_who_chose_away_is_not_told_again(client, agent):
    client.force_login(agent.user)
    client.post("/inbox/status/", {"status": "away"})
    assert "You are away:" not in client.get("/inbox/").content.decode()
