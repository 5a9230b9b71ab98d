"""LLM first token: how long after the model's first token the visitor's widget shows it.

Starts a local OpenAI-compatible endpoint that streams with a fixed first-token delay (bench/openai_stub.py)
and a Daphne configured for it as the README says (HANDOFF_LLM_PROVIDER=openai, HANDOFF_LLM_BASE_URL,
HANDOFF_LLM_MODEL: LangChain's ChatOpenAI, the real client path); one visitor asks questions the demo
knowledge base answers. Per question:
  - first_token_minus_model_delay: send -> first bot_delta on the widget, minus the stub's first-token
    delay (everything the app adds: storing, rules, retrieval, the prompt, the HTTP call, the stream's
    way back; goal <= 20 ms),
  - send_to_model_request: the visitor's send -> the model's request reaching the stub (the app's work
    before the model: store and ack, rules, retrieval, the prompt, ChatOpenAI's request),
  - model_token_to_widget: the stub writing its first token -> the widget receiving it (the streaming
    path alone: ChatOpenAI, the answer's hold-back, the delta batching, the channel layer).

Needs langchain-openai, which the project does not install (it is optional): pip install langchain-openai,
or point PYTHONPATH at a folder holding it.

    .venv/bin/python bench/bench_llm_first_token.py [--questions 20] [--delay 0.2] [--redis-url redis://127.0.0.1:6379/12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_bot_latency import QUESTIONS, prepare_database, start_daphne, summary  # noqa: E402
from bench.openai_stub import OpenAIStub  # noqa: E402


async def ask(base_url: str, stub: OpenAIStub, questions: int) -> tuple[list[float], list[float], list[float], int]:
    from websockets.asyncio.client import connect

    total, streaming, before_model, extractive = [], [], [], 0
    async with connect(base_url.replace("http", "ws", 1) + "/ws/widget/", origin=base_url, max_queue=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": None}))
        await ws.recv()
        for n in range(questions + 1):  # the first one warms up (model loading, the HTTP client)
            asked = len(stub.requests)
            sent = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "text": QUESTIONS[n % 4]}))
            first_delta = None
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if event["type"] == "bot_delta" and first_delta is None:
                    first_delta = time.perf_counter()
                if event["type"] == "message" and event["sender"] == "bot":
                    break
            if n and first_delta is not None and len(stub.requests) > asked:
                total.append((first_delta - sent - stub.first_token_seconds) * 1000)
                streaming.append((first_delta - stub.requests[asked].first_token_at) * 1000)
                before_model.append((stub.requests[asked].received_at - sent) * 1000)
            elif n:
                extractive += 1  # answered without the model (nothing to measure)
            await asyncio.sleep(max(0.0, 1.2 - (time.perf_counter() - sent)))  # 10 messages per 10 s
    return total, streaming, before_model, extractive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.2, help="the stub's first-token delay, seconds")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = parser.parse_args()
    prepare_database()
    with OpenAIStub(first_token_seconds=args.delay) as stub:
        os.environ.update(HANDOFF_LLM_PROVIDER="openai", HANDOFF_LLM_MODEL="stub", HANDOFF_LLM_BASE_URL=stub.base_url)
        process, base_url = start_daphne(args.redis_url, ROOT / "var" / "bench-logs" / "daphne-llm.log", "web")
        try:
            total, streaming, before_model, extractive = asyncio.run(ask(base_url, stub, args.questions))
        finally:
            process.terminate()
            process.wait(15)
    print(
        json.dumps(
            {
                "benchmark": "LLM first token: widget vs the model (OpenAI-compatible stub, ChatOpenAI)",
                "stub_first_token_seconds": args.delay,
                "load_average_1m": round(os.getloadavg()[0], 2),
                "answers_streamed": len(total),
                "answers_without_the_model": extractive,
                "first_token_minus_model_delay": summary(total) if total else None,
                "model_token_to_widget": summary(streaming) if streaming else None,
                # Where the rest goes: send -> the model's HTTP request arrives at the stub.
                "send_to_model_request": summary(before_model) if before_model else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
