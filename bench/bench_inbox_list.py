"""Server time of the inbox's lists with 1,000 conversations waiting (issue 11: under 100 ms).

Fills its own embedded PostgreSQL (var/bench-inbox) with 1,000 queued conversations of one team
(customer, a visitor message and a handoff each), signs in an agent of that team, and times
Django's handling of (a) the first page of the Unassigned view as htmx asks for it (the list
alone), (b) the full /inbox/ page (sidebar with every view's count, the queue, the list), and
(c) a full-text search over all of them, through the test client: request, middleware, queries,
rendering, without a socket. Wall time (p50/p95) and the Python process's CPU time per request
(the database's own time is in the wall time only); the load average says how busy the machine was.

Run:  .venv/bin/python bench/bench_inbox_list.py [--conversations 1000] [--runs 30]
Prints one JSON object.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def prepare(count: int):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        HANDOFF_DATA_DIR=str(ROOT / "var" / "bench-inbox"),
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from agents.models import Agent, Team
    from chat.models import Conversation, Customer, Message
    from handoff.models import Handoff
    from tests.factories import AgentFactory, UserFactory

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest production pages use
    Customer.objects.all().delete()  # conversations, messages and handoffs cascade
    Agent.objects.all().delete()
    team, _ = Team.objects.get_or_create(slug="support", defaults={"name": "Customer Support"})
    dana = AgentFactory(user=UserFactory(username="bench-dana", first_name="Dana"), teams=[team])
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(name=f"Visitor {i}", email=f"visitor{i}@example.com") for i in range(count)
    )
    conversations = Conversation.objects.bulk_create(
        Conversation(
            customer=customer,
            status=Conversation.Status.QUEUED,
            team=team,
            priority=i % 3,
            waiting_since=now - dt.timedelta(seconds=i * 7),
            last_seq=1,
            tags=["refund"] if i % 10 == 0 else [],
        )
        for i, customer in enumerate(customers)
    )
    Message.objects.bulk_create(
        Message(conversation=c, seq=1, sender="visitor", text=f"My parcel number {c.pk} has not arrived yet")
        for c in conversations
    )
    Handoff.objects.bulk_create(
        Handoff(conversation=c, source="visitor", reason="Visitor asked for a person", team=team, priority=c.priority)
        for c in conversations
    )
    return dana


def timed(client, url: str, runs: int, **headers) -> dict:
    client.get(url, **headers)  # warm: templates compiled, connection open
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    return {
        "python_cpu_p50_ms": round(statistics.median(cpu), 1),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
        "rows": response.content.decode().count('<li class="row'),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    dana = prepare(args.conversations)
    from django.test import Client

    client = Client(HTTP_HOST="localhost")  # an ALLOWED_HOSTS default
    client.force_login(dana.user)
    result = {
        "conversations_waiting": args.conversations,
        "list_first_page_htmx": timed(client, "/inbox/?view=queue", args.runs, HTTP_HX_REQUEST="true"),
        "inbox_full_page": timed(client, "/inbox/?view=queue", args.runs),
        "search_all": timed(client, "/inbox/?q=parcel+arrived", args.runs, HTTP_HX_REQUEST="true"),
    }
    result["load_average"] = os.getloadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
