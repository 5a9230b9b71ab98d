"""Issue 16 item 6: an open inbox tab kept receiving visitor messages after the conversation was
transferred away, and after its user signed out or was deactivated. Every push is checked again,
and the user's sockets are told at once when their access changes."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from handoff.models import Handoff
from handoff.services import handoff_transfer
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Tab:
    """A signed-in browser (its Django test client holds the session) with one inbox socket."""

    def __init__(self, user, query: str = "") -> None:
        self.browser = Client()
        self.browser.force_login(user)
        cookie = f"sessionid={self.browser.cookies['sessionid'].value}".encode()
        headers = [(b"origin", b"http://localhost"), (b"host", b"localhost"), (b"cookie", cookie)]
        self.socket = WebsocketCommunicator(application, f"/ws/inbox/{query}", headers=headers)

    async def frames_until_closed(self, timeout: float = 3.0) -> tuple[list[str], int]:
        """Every frame sent before the socket closed, and the close code."""
        frames = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = max(deadline - asyncio.get_running_loop().time(), 0.01)
            output = await self.socket.receive_output(timeout=remaining)
            if output["type"] == "websocket.close":
                return frames, output["code"]
            frames.append(output.get("text", ""))


async def open_tab(user, query: str = "") -> Tab:
    tab = await database_sync_to_async(Tab)(user, query)
    assert (await tab.socket.connect())[0]
    return tab


async def test_a_conversation_transferred_to_another_team_stops_reaching_the_old_teams_tab(
    agent, billing_team, queued_conversation
):
    tab = await open_tab(agent.user, f"?conversation={queued_conversation.pk}")
    handoff = await database_sync_to_async(Handoff.objects.get)(conversation=queued_conversation)
    await database_sync_to_async(handoff_transfer)(handoff=handoff, to_team=billing_team)
    await database_sync_to_async(MessageFactory)(conversation=queued_conversation, text="my card number is 4111")
    frames, code = await tab.frames_until_closed()
    assert code == 4403
    assert not any("4111" in frame for frame in frames)


async def test_signing_out_closes_the_tabs_socket_at_once(agent, queued_conversation):
    tab = await open_tab(agent.user, f"?conversation={queued_conversation.pk}")
    await database_sync_to_async(tab.browser.post)("/accounts/logout/")
    frames, code = await tab.frames_until_closed()
    assert code == 4401 and frames == []


async def test_a_deactivated_user_is_closed_out(agent, queued_conversation):
    tab = await open_tab(agent.user, f"?conversation={queued_conversation.pk}")
    agent.user.is_active = False
    await database_sync_to_async(agent.user.save)()
    frames, code = await tab.frames_until_closed()
    assert code == 4401 and frames == []


async def test_a_changed_password_closes_the_other_sessions_sockets_at_the_next_push(agent, queued_conversation):
    tab = await open_tab(agent.user, f"?conversation={queued_conversation.pk}")
    agent.user.set_password("a-brand-new-long-password")
    await database_sync_to_async(agent.user.save)()
    await database_sync_to_async(MessageFactory)(conversation=queued_conversation, text="still there?")
    frames, code = await tab.frames_until_closed()
    assert code == 4401 and not any("still there?" in frame for frame in frames)


async def test_losing_the_team_closes_the_conversation_and_reconnects_the_list(
    agent, support_team, queued_conversation
):
    watching = await open_tab(agent.user, f"?conversation={queued_conversation.pk}")
    listing = await open_tab(agent.user)
    await database_sync_to_async(agent.teams.remove)(support_team)
    assert (await watching.frames_until_closed())[1] == 4403
    # The list page is still theirs: reconnecting joins the groups of the teams they have now.
    assert (await listing.frames_until_closed())[1] == 1012
