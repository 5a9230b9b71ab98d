"""Nothing lost under faults (issue 17): visitors chat through real Daphne, a real Celery worker and
beat, over a redis-server of the suite's own and the embedded PostgreSQL, while one part is killed
or restarted mid-traffic. For every fault: messages acknowledged = stored = sent, none stored twice,
none left without an answer (or a handoff), and each visitor ends with exactly the database's
messages. Each run appends its row to var/test/logs/faults/table.tsv (the table in the notes).

Run: .venv/bin/python -m pytest tests/faults -m faults -p no:randomly -q
"""

from __future__ import annotations

import asyncio
import time

import pytest
from django.db import close_old_connections

from chat.models import Message
from tests.faults.harness import LOG_DIR, Site, Visitor
from tests.support.redis_server import OwnRedis
from tests.widget.live import wait_for_live_server_to_settle

pytestmark = [pytest.mark.faults, pytest.mark.live_server, pytest.mark.django_db(transaction=True)]

VISITORS, MESSAGES, THINK_SECONDS = 6, 5, 0.8
FAULT_AT_SECONDS = 1.5


@pytest.fixture
def site(redis_url):
    redis_server = OwnRedis()
    redis_server.start()
    built = []

    def build(**kwargs) -> Site:
        site = Site(redis_server, **kwargs)
        built.append(site)
        site.start()
        return site

    yield build
    for site in built:
        site.stop()
    redis_server.stop()
    close_old_connections()
    wait_for_live_server_to_settle()


async def kill_daphne(site: Site) -> None:
    Site.kill(site.daphnes[0])
    await asyncio.to_thread(site.start_daphne, 0)


async def kill_worker(site: Site) -> None:
    Site.kill(site.worker)
    await asyncio.sleep(2)
    await asyncio.to_thread(site.start_worker)


async def restart_redis(site: Site) -> None:
    await asyncio.to_thread(site.redis.stop)
    await asyncio.sleep(3)
    await asyncio.to_thread(site.redis.start)


async def no_fault(site: Site) -> None:
    return None


def database_view(conversations: list[str]) -> dict[str, list[Message]]:
    close_old_connections()
    view: dict[str, list[Message]] = {}
    for message in Message.objects.filter(conversation__public_id__in=conversations).order_by("seq"):
        view.setdefault(str(message.conversation.public_id), []).append(message)
    return view


def unanswered(view: dict[str, list[Message]]) -> int:
    return sum(1 for messages in view.values() for m in messages if m.sender == "visitor" and m.handled_at is None)


async def chat_through(site: Site, fault, *, daphnes: int = 1) -> dict:
    visitors = [Visitor(site, daphne=index % daphnes) for index in range(VISITORS)]
    stop = asyncio.Event()
    runs = [asyncio.create_task(visitor.run(stop)) for visitor in visitors]
    started = time.monotonic()
    fault_task = None
    for round_ in range(MESSAGES):
        for index, visitor in enumerate(visitors):
            visitor.say(f"Do you ship to Norway? (visitor {index}, message {round_})")
        await asyncio.sleep(THINK_SECONDS)
        if fault_task is None and time.monotonic() - started >= FAULT_AT_SECONDS:
            fault_task = asyncio.create_task(fault(site))
    if fault_task is not None:
        await fault_task
    recovered_at = time.monotonic()
    stop.set()
    await asyncio.wait_for(asyncio.gather(*runs), 90)
    all_acked_at = time.monotonic()

    conversations = [visitor.conversation for visitor in visitors]
    deadline = time.monotonic() + 60
    while unanswered(view := await asyncio.to_thread(database_view, conversations)) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    answered_at = time.monotonic()
    for visitor in visitors:
        await visitor.catch_up()

    sent = sum(len(v.sent) for v in visitors)
    acked = sum(len(v.acked) for v in visitors)
    stored = sum(1 for messages in view.values() for m in messages if m.sender == "visitor")
    stored_ids = {m.client_id for messages in view.values() for m in messages if m.sender == "visitor"}
    delivered_ok = all(sorted(v.received) == [m.seq for m in view.get(v.conversation, [])] for v in visitors)
    answers = sum(1 for messages in view.values() for m in messages if m.sender == "bot")
    return {
        "sent": sent,
        "acked": acked,
        "stored": stored,
        "lost": len(set().union(*(v.sent for v in visitors)) - stored_ids),
        "duplicated": stored - len(stored_ids),
        "unanswered": unanswered(view),
        "bot_answers": answers,
        "visitor_views_match_db": delivered_ok,
        "ack_p95_s": round(sorted(w for v in visitors for w in v.ack_waits)[int(0.95 * max(acked - 1, 0))], 2)
        if acked
        else None,
        "acks_done_s_after_recovery": round(all_acked_at - recovered_at, 1),
        "answers_done_s_after_recovery": round(answered_at - recovered_at, 1),
        "reconnects": sum(v.reconnects for v in visitors),
        "errors": sum(len(v.errors) for v in visitors),
        "error_codes": ",".join(sorted({e.get("code", "?") for v in visitors for e in v.errors})) or "-",
    }


def record(name: str, row: dict) -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    table = LOG_DIR / "table.tsv"
    if not table.exists():
        table.write_text("fault\t" + "\t".join(row) + "\n")
    with table.open("a") as out:
        out.write(name + "\t" + "\t".join(str(value) for value in row.values()) + "\n")


@pytest.mark.parametrize(
    "name, fault, answer_in",
    [
        ("baseline", no_fault, "workers"),
        ("daphne SIGKILL + restart", kill_daphne, "workers"),
        ("daphne SIGKILL + restart, answers in web threads", kill_daphne, "web"),
        ("celery worker SIGKILL + restart", kill_worker, "workers"),
        ("redis stop 3 s + restart (empty)", restart_redis, "workers"),
    ],
)
async def test_nothing_is_lost_or_stored_twice(site, name, fault, answer_in):
    running = await asyncio.to_thread(site, answer_in=answer_in)
    row = await chat_through(running, fault)
    record(name, row)
    # Redis down must not surface as errors: messages are stored and acked through PostgreSQL alone.
    assert "internal_error" not in row["error_codes"], row
    assert row["acked"] == row["sent"] == row["stored"], row
    assert (row["lost"], row["duplicated"], row["unanswered"]) == (0, 0, 0), row
    assert row["visitor_views_match_db"], row


async def test_two_daphne_processes_share_the_work(site):
    """Visitors on two Daphne processes behind the same Redis and PostgreSQL: same guarantees."""
    running = await asyncio.to_thread(site, daphnes=2)
    row = await chat_through(running, no_fault, daphnes=2)
    record("two daphnes, no fault", row)
    assert row["acked"] == row["sent"] == row["stored"], row
    assert (row["lost"], row["duplicated"], row["unanswered"]) == (0, 0, 0), row
    assert row["visitor_views_match_db"], row
