"""The ack of a visitor's message goes out as soon as the message is stored (issue 12): nothing that
can wait (the message's broadcast to the inbox, the bot) runs before it."""

import asyncio

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("scripted_bot")]


class GatedLayer(InMemoryChannelLayer):
    """The in-memory layer, except that joining and broadcasting to conversations wait until the test
    opens the gate: a slow Redis, as the ack would see it if it waited for them."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gate = asyncio.Event()

    async def group_add(self, group, channel):
        await self.gate.wait()
        await super().group_add(group, channel)

    async def group_send(self, group, message):
        if group.startswith("conversation_"):
            await self.gate.wait()
        await super().group_send(group, message)


@pytest.fixture
def gated_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.GatedLayer"}}


@pytest.mark.usefixtures("gated_layer")
async def test_the_ack_does_not_wait_for_the_channel_layer(open_widget):
    widget = await open_widget()
    await widget.hello()
    await widget.send(type="message", client_id="first", text="Where is my order?")
    ack, before = await widget.receive_until("ack", client_id="first", timeout=2)
    assert ack["seq"] == 1
    # The new conversation's token comes first: a widget that has the ack may forget the message.
    assert [event["type"] for event in before] == ["welcome"] and before[0]["token"]

    get_channel_layer().gate.set()  # the broadcast goes out after the ack, and the bot answers
    echo, _ = await widget.receive_until("message", sender="visitor", seq=1)
    assert echo["client_id"] == "first"
    await widget.receive_until("message", sender="bot", reply_to=1)
