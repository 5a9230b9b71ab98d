"""The inbox when things fail (issue 17): a reply is stored once however often it is retried, a
channel layer that is down does not turn a stored reply into a 500, and a tab that reconnects
catches up on what it missed."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from chat.models import Message
from config.redis_layer import redis_channel_layer
from handoff.services import handoff_assign
from tests.inbox.test_inbox_consumer import inbox_socket, receive_until
from tests.support.services import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def assigned(agent, queued_conversation):
    handoff_assign(handoff=queued_conversation.handoffs.get(), agent=agent)
    return queued_conversation


@pytest.fixture
def channel_layer_down(settings):
    """A Redis channel layer with nothing listening on its port: every group_send fails, for real."""
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(f"redis://127.0.0.1:{free_port()}/0")}
    yield
    channel_layers.backends.clear()


def agent_messages(conversation) -> list[str]:
    return list(conversation.messages.filter(sender=Message.Sender.AGENT).values_list("text", flat=True))


def test_a_retried_reply_with_the_same_client_id_is_stored_once(client, agent, assigned):
    client.force_login(agent.user)
    url = f"/inbox/c/{assigned.pk}/reply/"
    for _ in range(3):
        response = client.post(url, {"text": "Let me check.", "client_id": "draft-1"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 204
    assert agent_messages(assigned) == ["Let me check."]


def test_a_retried_reply_is_accepted_even_after_the_conversation_was_resolved(client, agent, assigned):
    from handoff.services import handoff_resolve

    client.force_login(agent.user)
    url = f"/inbox/c/{assigned.pk}/reply/"
    client.post(url, {"text": "Done!", "client_id": "draft-2"}, HTTP_HX_REQUEST="true")
    handoff_resolve(conversation=assigned, actor=agent.user)
    # The first answer was lost; the retry must not tell the agent it failed (it was sent).
    assert client.post(url, {"text": "Done!", "client_id": "draft-2"}, HTTP_HX_REQUEST="true").status_code == 204
    assert agent_messages(assigned) == ["Done!"]


def test_a_malformed_client_id_is_a_clear_error(client, agent, assigned):
    client.force_login(agent.user)
    response = client.post(
        f"/inbox/c/{assigned.pk}/reply/", {"text": "hi", "client_id": "x" * 65}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422 and "reload the page" in response.content.decode()
    assert agent_messages(assigned) == []


def test_a_channel_layer_failure_after_commit_is_not_a_500(client, agent, assigned, channel_layer_down):
    """Redis down: the reply is stored; answering 500 would make the inbox send it again."""
    client.force_login(agent.user)
    response = client.post(
        f"/inbox/c/{assigned.pk}/reply/", {"text": "Still here", "client_id": "draft-3"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    assert agent_messages(assigned) == ["Still here"]


async def test_a_reconnecting_tab_gets_what_arrived_while_it_was_away(agent, assigned):
    from chat.services import message_create

    tab = await inbox_socket(agent.user, f"?conversation={assigned.pk}")
    assert (await tab.connect())[0]
    await tab.disconnect()
    # While the tab is reconnecting, the visitor writes: the group pushes it to nobody.
    await database_sync_to_async(message_create)(
        conversation=assigned, sender=Message.Sender.VISITOR, text="Are you <still> there?"
    )
    tab = await inbox_socket(agent.user, f"?conversation={assigned.pk}")
    assert (await tab.connect())[0]
    await tab.send_to(text_data='{"resume": true}')
    frame = await receive_until(tab, "still")
    assert 'id="transcript" hx-swap-oob="innerHTML"' in frame
    assert "Are you &lt;still&gt; there?" in frame  # escaped, as everywhere
    assert "Where is my order" in frame  # the whole transcript, not only the gap
    await tab.disconnect()


async def test_resume_and_odd_frames_never_close_the_socket(agent, assigned):
    tab = await inbox_socket(agent.user, f"?conversation={assigned.pk}")
    assert (await tab.connect())[0]
    for frame in ["[1, 2]", '"resume"', "[" * 5000 + "]" * 5000, "null"]:
        await tab.send_to(text_data=frame)
    await tab.send_to(text_data='{"resume": true}')
    assert "hx-swap-oob" in await receive_until(tab, "transcript")
    await asyncio.sleep(0)
    await tab.disconnect()
