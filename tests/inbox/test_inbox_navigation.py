"""Opening a conversation from a list swaps the main pane (htmx, no page load): the view answers
with the pane alone, a history restore gets the whole page, and the socket follows what is shown."""

import json

import pytest
from channels.db import database_sync_to_async

from handoff.services import handoff_request
from tests.factories import ConversationFactory, MessageFactory
from tests.inbox.test_inbox_consumer import inbox_socket, receive_until

pytestmark = pytest.mark.django_db


def test_htmx_gets_the_pane_and_a_history_restore_the_whole_page(client, agent, queued_conversation):
    client.force_login(agent.user)
    url = f"/inbox/c/{queued_conversation.pk}/"
    pane = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert pane.lstrip().startswith('<div class="conversation"') and "<html" not in pane
    assert 'id="conversation-header" class="conversation-header">' in pane, "in the pane, not an out-of-band swap"
    restore = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true").content.decode()
    assert "<html" in restore and 'id="sidebar"' in restore
    listing = client.get("/inbox/?view=queue", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in listing.content.decode()


def test_list_rows_swap_the_main_pane_and_push_the_url(client, agent, queued_conversation):
    client.force_login(agent.user)
    page = client.get("/inbox/?view=queue").content.decode()
    url = f"/inbox/c/{queued_conversation.pk}/"
    assert (
        f'href="{url}" hx-get="{url}" hx-target="#main" hx-swap="innerHTML" hx-push-url="true" class="row-link"' in page
    )


@pytest.mark.django_db(transaction=True)
async def test_the_socket_follows_the_conversation_on_screen_and_only_one_the_user_may_see(
    agent, billing_team, queued_conversation
):
    communicator = await inbox_socket(agent.user)  # opened on a list: no conversation
    assert (await communicator.connect())[0]
    await communicator.send_to(text_data=json.dumps({"watch": str(queued_conversation.pk)}))
    await communicator.receive_nothing(timeout=0.3)
    await database_sync_to_async(MessageFactory)(conversation=queued_conversation, text="Now you see me")
    frame = await receive_until(communicator, "Now you see me")
    assert 'id="transcript"' in frame

    other = await database_sync_to_async(ConversationFactory)()
    await database_sync_to_async(handoff_request)(conversation=other, reason="x", team=billing_team)
    await communicator.send_to(text_data=json.dumps({"watch": other.pk}))  # not theirs: nothing followed
    await communicator.receive_nothing(timeout=0.3)
    await database_sync_to_async(MessageFactory)(conversation=queued_conversation, text="Left behind")
    assert await communicator.receive_nothing(timeout=0.5), "the previous conversation is no longer followed"
    await database_sync_to_async(MessageFactory)(conversation=other, text="Someone else's")
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
