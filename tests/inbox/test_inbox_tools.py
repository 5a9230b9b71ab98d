"""The agent's working tools around a conversation (issue 11): transfer notes, the transfer list,
suggested passages, sentiment, presence, history and the lists."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Message
from handoff.models import Handoff
from handoff.services import handoff_assign, handoff_transfer
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
