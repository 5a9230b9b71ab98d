"""Two Daphne processes sharing Redis and PostgreSQL: the visitor on one, the agent's inbox on the other.

Measures, over real sockets (issue 17's two-process case):
  1. visitor message (widget socket on Daphne A) -> the agent's open conversation (inbox socket on
     Daphne B) shows it,
  2. agent reply (HTTP POST to Daphne B) -> the visitor's widget (on Daphne A) receives it,
and the same two with both sockets on one Daphne, in the same run, for comparison.

Run:  .venv/bin/python bench/bench_two_daphnes.py [--messages 100] [--redis redis://127.0.0.1:6379/9]
Prints one JSON object. Only loopback traffic; it starts and stops its own Daphne processes.
"""

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_handoff import bench_env, prepare, start_daphne, summary  # noqa: E402


async def visitor_and_agent(visitor_port: int, agent_port: int, session_key: str, messages: int) -> dict:
    import httpx
    import websockets

    visitor_origin, agent_origin = f"http://127.0.0.1:{visitor_port}", f"http://127.0.0.1:{agent_port}"
    widget = await websockets.connect(
        f"ws://127.0.0.1:{visitor_port}/ws/widget/", origin=visitor_origin, ping_interval=None, max_queue=None
    )
    await widget.send(json.dumps({"type": "hello", "token": None}))
    await widget.recv()  # welcome

    async def visitor_says(text: str) -> None:
        await widget.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": text}))

    async def widget_receives(text: str) -> None:
        while True:
            event = json.loads(await asyncio.wait_for(widget.recv(), 30))
            if event.get("type") == "message" and event.get("text") == text:
                return

    await visitor_says("Do you ship to Norway?")
    public_id = None
    while True:  # the conversation's id (in the second welcome), the bot's answer, then ask for a person
        event = json.loads(await asyncio.wait_for(widget.recv(), 30))
        public_id = event.get("conversation") or public_id
        if event.get("sender") == "bot":
            break
    await widget.send(json.dumps({"type": "handoff_request"}))
    from chat.models import Conversation

    ours = Conversation.objects.filter(public_id=public_id).values_list("id", flat=True)
    conversation_id = await asyncio.to_thread(lambda: ours[0])
    cookie = f"sessionid={session_key}; csrftoken={'x' * 32}"
    headers = {"Cookie": cookie, "X-CSRFToken": "x" * 32, "HX-Request": "true", "Origin": agent_origin}
    to_agent, to_visitor = [], []
    async with httpx.AsyncClient(base_url=agent_origin, headers=headers, timeout=30) as http:
        for _ in range(100):  # the handoff commits on Daphne A while we ask Daphne B to accept it
            response = await http.post(f"/inbox/c/{conversation_id}/accept/")
            if response.status_code == 204:
                break
            await asyncio.sleep(0.1)
        assert response.status_code == 204, response.text
        inbox = await websockets.connect(
            f"ws://127.0.0.1:{agent_port}/ws/inbox/?conversation={conversation_id}",
            origin=agent_origin,
            additional_headers={"Cookie": cookie},
            max_size=None,
            max_queue=None,
            ping_interval=None,
        )

        async def inbox_shows(text: str) -> None:
            while text not in await asyncio.wait_for(inbox.recv(), 30):
                pass

        for n in range(messages):
            round_started = time.perf_counter()
            text = f"visitor message {n} in {conversation_id}"
            started = time.perf_counter()
            await visitor_says(text)
            await inbox_shows(text)
            to_agent.append((time.perf_counter() - started) * 1000)

            text = f"agent reply {n} in {conversation_id}"
            started = time.perf_counter()
            response = await http.post(f"/inbox/c/{conversation_id}/reply/", data={"text": text})
            assert response.status_code == 204, response.text
            await widget_receives(text)
            to_visitor.append((time.perf_counter() - started) * 1000)
            # A conversation, not a flood: the visitor's rate limit is 10 messages in 10 s.
            await asyncio.sleep(max(0.0, 1.25 - (time.perf_counter() - round_started)))
        await inbox.close()
    await widget.close()
    return {"visitor_message_to_agent_inbox": summary(to_agent), "agent_reply_to_visitor": summary(to_visitor)}


QUESTIONS = ["Do you ship to Norway?", "How do I reset my password?", "Can I get a refund?", "Where is my order?"]


async def chatting_visitor(port: int, stop: asyncio.Event, index: int) -> int:
    """Background traffic: a visitor asking the bot a question every 2 s until `stop`; returns how many."""
    import websockets

    origin = f"http://127.0.0.1:{port}"
    asked = 0
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ws/widget/", origin=origin, ping_interval=None, max_queue=None
    ) as socket:
        await socket.send(json.dumps({"type": "hello", "token": None}))
        await socket.recv()
        while not stop.is_set():
            question = QUESTIONS[(index + asked) % len(QUESTIONS)]
            await socket.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": question}))
            asked += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2)
    return asked


async def measure(port_a: int, port_b: int, session_key: str, messages: int, background: int) -> dict:
    stop = asyncio.Event()
    others = [asyncio.create_task(chatting_visitor((port_a, port_b)[n % 2], stop, n)) for n in range(background)]
    try:
        result = await visitor_and_agent(port_a, port_b, session_key, messages)
    finally:
        stop.set()
        asked = sum(await asyncio.gather(*others))
    return {**result, "background_visitors": background, "background_questions": asked}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--background-visitors", type=int, default=6, help="chatting with the bot meanwhile")
    args = parser.parse_args()
    env = bench_env(args.redis)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    session_key, _ = prepare(env)
    daphnes = [start_daphne(env, ROOT / "var" / "bench-handoff" / f"daphne-{n}.log") for n in range(2)]
    try:
        (_, port_a), (_, port_b) = daphnes
        two = asyncio.run(measure(port_a, port_b, session_key, args.messages, args.background_visitors))
        one = asyncio.run(measure(port_a, port_a, session_key, args.messages, args.background_visitors))
    finally:
        for process, _ in daphnes:
            process.terminate()
        for process, _ in daphnes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    print(
        json.dumps(
            {
                "messages": args.messages,
                "load_average_1m": round(os.getloadavg()[0], 2),
                "visitor_on_a_agent_on_b": two,
                "both_on_a": one,
            }
        )
    )


if __name__ == "__main__":
    main()
