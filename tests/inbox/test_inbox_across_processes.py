"""Two Daphne processes sharing the Redis channel layer and PostgreSQL (issue 17's two-process case):
the visitor's widget on one, the agent's inbox tab on the other, each side sees the other's messages
as fast as on one process. Real processes, real sockets; bench/bench_two_daphnes.py measures it."""

import asyncio
import json
import statistics
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import connect

from chat.db import database_sync_to_async
from chat.models import Conversation
from handoff.services import handoff_assign, handoff_request
from tests.support import services

pytestmark = pytest.mark.django_db(transaction=True)

LOG_DIR = Path(settings.DATA_DIR) / "logs" / "two-daphnes"
MESSAGES = 8
# On one process a visitor's message is on the agent's screen in tens of milliseconds, even on a
# loaded 2-core machine; issue 17 saw p50 3.2 s across two processes. The median says "at once"; the
# slowest message gets more room, since on a loaded shared machine one of eight can wait a second
# for a core (1.54 s seen at load 6 under nice), which is not the defect.
MEDIAN_WITHIN_SECONDS = 1.0
WITHIN_SECONDS = 3.0


async def frames_until(socket, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while needle not in await asyncio.wait_for(socket.recv(), max(deadline - time.monotonic(), 0.01)):
        pass


def test_a_visitor_on_one_daphne_and_an_agent_on_another_see_each_others_messages_at_once(agent, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    client = Client()
    client.force_login(agent.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken={'x' * 32}"
    with (
        services.daphne(redis_url=redis_url, log_path=LOG_DIR / "visitor-side.log") as visitor_url,
        services.daphne(redis_url=redis_url, log_path=LOG_DIR / "agent-side.log") as agent_url,
    ):
        to_agent, to_visitor = asyncio.run(converse(visitor_url, agent_url, cookie, agent))
    for direction, delays in (("visitor -> agent", to_agent), ("agent -> visitor", to_visitor)):
        assert statistics.median(delays) < MEDIAN_WITHIN_SECONDS, f"{direction} took {sorted(delays)} s"
        assert max(delays) < WITHIN_SECONDS, f"{direction} took {sorted(delays)} s"


def assigned(public_id: str, agent) -> Conversation:
    conversation = Conversation.objects.get(public_id=public_id)
    handoff_assign(handoff=handoff_request(conversation=conversation, reason="test"), agent=agent)
    return conversation


async def converse(visitor_url: str, agent_url: str, cookie: str, agent) -> tuple[list[float], list[float]]:
    async with connect(visitor_url.replace("http", "ws", 1) + "/ws/widget/", origin=visitor_url) as widget:
        await widget.send(json.dumps({"type": "hello", "token": None}))
        public_id = None
        await widget.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": "Hello there"}))
        while public_id is None:
            public_id = json.loads(await asyncio.wait_for(widget.recv(), 30)).get("conversation")
        conversation = await database_sync_to_async(assigned)(public_id, agent)

        inbox_url = agent_url.replace("http", "ws", 1) + f"/ws/inbox/?conversation={conversation.pk}"
        headers = {"Cookie": cookie, "X-CSRFToken": "x" * 32, "HX-Request": "true", "Origin": agent_url}
        to_agent, to_visitor = [], []
        async with (
            connect(inbox_url, origin=agent_url, additional_headers={"Cookie": cookie}, max_size=None) as inbox,
            httpx.AsyncClient(base_url=agent_url, headers=headers, timeout=10) as http,
        ):
            for n in range(MESSAGES):
                text = f"visitor says {n}"
                started = time.monotonic()
                await widget.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": text}))
                await frames_until(inbox, text, timeout=10)
                to_agent.append(time.monotonic() - started)

                text = f"agent says {n}"
                started = time.monotonic()
                response = await http.post(f"/inbox/c/{conversation.pk}/reply/", data={"text": text})
                assert response.status_code == 204, response.text
                await frames_until(widget, text, timeout=10)
                to_visitor.append(time.monotonic() - started)
                await asyncio.sleep(1.2)  # the visitor's rate limit: 10 messages in 10 s
    return to_agent, to_visitor
