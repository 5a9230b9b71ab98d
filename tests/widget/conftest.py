"""Widget sockets over channels' WebsocketCommunicator, and a scripted bot.

The communicator runs the real routing (origin check included) in the test's event loop
with the in-memory channel layer, so broadcasts from the consumer's DB threads reach it.
"""

import asyncio
import threading
import time
import types
import uuid
from dataclasses import dataclass, field

import pytest
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from knowledge import answers

ORIGIN = b"http://127.0.0.1"


class Widget:
    """One visitor socket with the few moves the tests need."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.welcome: dict | None = None

    async def send(self, **event) -> None:
        await self.communicator.send_json_to(event)

    async def send_raw(self, text: str | None = None, binary: bytes | None = None) -> None:
        await self.communicator.send_to(text_data=text, bytes_data=binary)

    async def receive(self, timeout: float = 3) -> dict:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def receive_until(self, kind: str, *, timeout: float = 5, **match) -> tuple[dict, list[dict]]:
        """The first event of `kind` (with fields equal to `match`), and everything before it."""
        skipped = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} event {match} within {timeout}s; got {skipped}")
            try:
                event = await self.receive(timeout=remaining)
            except TimeoutError:
                raise AssertionError(f"no {kind} event {match} within {timeout}s; got {skipped}") from None
            if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                return event, skipped
            skipped.append(event)

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def drain(self, seconds: float = 0.5) -> list[dict]:
        """Everything that arrives within `seconds` (without timing out a receive: that cancels the app)."""
        events = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            if await self.communicator.receive_nothing(timeout=remaining, interval=0.01):
                break
            events.append(await self.receive())
        return events

    async def hello(self, token: str | None = None, **extra) -> dict:
        await self.send(type="hello", token=token, **extra)
        self.welcome = await self.receive()
        assert self.welcome["type"] == "welcome", self.welcome
        return self.welcome

    async def say(self, text: str, client_id: str | None = None) -> dict:
        """Send a message and return its ack (a first message also brings a new welcome)."""
        client_id = client_id or uuid.uuid4().hex
        await self.send(type="message", client_id=client_id, text=text)
        ack, before = await self.receive_until("ack", client_id=client_id)
        for event in before:
            if event["type"] == "welcome":
                self.welcome = event
        return ack

    async def close(self) -> None:
        await self.communicator.disconnect()


@pytest.fixture
def widget_application():
    from config.routing import websocket_urlpatterns

    return URLRouter(websocket_urlpatterns)


async def drain_bot_replies() -> None:
    """Wait for bot replies still running in threads, so none writes after the test's DB flush."""
    from widget.consumers import _background_tasks

    while _background_tasks:
        await asyncio.gather(*list(_background_tasks), return_exceptions=True)


@pytest.fixture
async def open_widget(widget_application):
    opened: list[Widget] = []

    async def open_(origin: bytes | None = ORIGIN) -> Widget:
        headers = [(b"origin", origin), (b"host", b"127.0.0.1")] if origin else []
        communicator = WebsocketCommunicator(widget_application, "/ws/widget/", headers=headers)
        connected, code = await communicator.connect(timeout=3)
        assert connected, f"refused with {code}"
        widget = Widget(communicator)
        opened.append(widget)
        return widget

    await get_channel_layer().flush()
    yield open_
    # Closed first: a consumer handles its events one at a time, so once its disconnect has run, every
    # message it took has started its answer task (a task started after the ack, which the test may
    # already hold). Drained only then, so no answer writes during the test database's flush.
    for widget in opened:
        await widget.close()
    await drain_bot_replies()


@dataclass
class ScriptedBot:
    """Stands in for knowledge.answers: records questions, streams `tokens`, answers from the script."""

    tokens: list[str] = field(default_factory=lambda: ["Orders ship ", "within 2 ", "working days."])
    sources: list[dict] = field(
        default_factory=lambda: [{"article_id": 1, "title": "Shipping", "url": "/help/shipping", "score": 0.91}]
    )
    confidence: float = 0.91
    declined: bool = False
    fail: bool = False
    gate: threading.Event | None = None  # set it to let a held answer finish
    token_delay: float = 0.0  # seconds between streamed tokens, like a chat model
    questions: list[str] = field(default_factory=list)
    histories: list[list] = field(default_factory=list)

    def answer_question(self, *, question, history=None, on_token=None):
        self.questions.append(question)
        self.histories.append(history or [])
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise RuntimeError("the knowledge base is down")
        for token in self.tokens:
            if on_token:
                on_token(token)
            time.sleep(self.token_delay)
        text = "".join(self.tokens)
        metadata = {"sources": self.sources, "confidence": self.confidence, "declined": self.declined}
        return types.SimpleNamespace(
            text=text,
            confidence=self.confidence,
            sources=self.sources,
            declined=self.declined,
            as_metadata=lambda: dict(metadata),
        )


@pytest.fixture
def scripted_bot(monkeypatch):
    """Replace knowledge.answers.answer_question for this test (the pipeline calls it through the module)."""
    bot = ScriptedBot()
    monkeypatch.setattr(answers, "answer_question", bot.answer_question)
    return bot
