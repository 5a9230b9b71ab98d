"""Server time of every report view on a big history (issue 14: each under 1 s with 100k conversations).

    .venv/bin/python manage.py seed_reports --conversations 100000 --messages-per-conversation 10
    .venv/bin/python bench/bench_reports.py [--repeat 3]

Runs the admin report view and GET /api/v1/reports/ in-process (Django's test client against the
configured database, the embedded one under var/ by default): the time is the server's (queries,
Python, template), no network. Prints one JSON object: per view the median and the slowest of the
runs, and the counts it ran on.
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
LIMIT_MS = 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client, override_settings

    from agents.models import Team
    from api.models import ApiToken
    from api.tokens import api_token_issue
    from chat.models import Conversation, Message

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics after the seed, as autovacuum would have by now
    manager, _ = get_user_model().objects.get_or_create(
        username="bench-manager", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    team = Team.objects.order_by("pk").first()
    url = "/admin/reports/report/"
    views = {
        "30 days": {},
        "7 days": {"days": "7", "compare": "on"},
        "90 days": {"days": "90", "compare": "on"},
        "90 days, one team": {"days": "90", "team": team.pk if team else "", "compare": "on"},
        "custom 180 days": {"days": "custom", "compare": "on"},
        "JSON, 90 days": {"days": "90", "compare": "on", "export": "json"},
        **{f"CSV {t}, 90 days": {"days": "90", "export": t} for t in ("cohorts", "triggers", "agents", "hours")},
    }
    today = dt.date.today()
    views["custom 180 days"].update(start=(today - dt.timedelta(days=179)).isoformat(), end=today.isoformat())
    results = {}
    # The hashed static files need collectstatic; the page's asset URLs are not what is measured.
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # The API's GET /api/v1/reports/ too (DRF, a manager's read token): the same report as the JSON export.
    token = ApiToken(user=manager, name="bench_reports", scopes=[ApiToken.Scope.READ])
    secret = api_token_issue(token=token)
    with override_settings(STORAGES=plain_static):
        _run(client, url, views, args.repeat, results)
        api_views = {"API /api/v1/reports/, 90 days": {"days": "90"}}
        _run(client, "/api/v1/reports/", api_views, args.repeat, results, HTTP_AUTHORIZATION=f"Bearer {secret}")
    token.delete()
    print(
        json.dumps(
            {
                "conversations": Conversation.objects.count(),
                "messages": Message.objects.count(),
                "views": results,
                "load_average": os.getloadavg()[0],
                "cpus": os.cpu_count(),
                "all_under_1s_wall": all(r["wall_max_ms"] < LIMIT_MS for r in results.values()),
                "all_under_1s_cpu": all(r["cpu_median_ms"] < LIMIT_MS for r in results.values()),
            },
            indent=2,
        )
    )


def _backend_cpu_seconds(pid: int) -> float:
    """CPU time the PostgreSQL backend serving us has used (Linux /proc; same machine only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(client, url, views, repeat, results, **headers) -> None:
    """Wall time, and CPU time (this process + its database backend): on a shared, loaded machine the
    wall time includes waiting for a core; the CPU time is what the view costs on an idle one."""
    from django.db import connection

    client.get(url, {"days": "7"}, **headers)  # the connection is open, templates compiled
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    for name, query in views.items():
        wall, cpu = [], []
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time() + _backend_cpu_seconds(backend)
            response = client.get(url, query, **headers)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() + _backend_cpu_seconds(backend) - cpu_started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        results[name] = {
            "wall_median_ms": round(statistics.median(wall)),
            "wall_max_ms": round(max(wall)),
            "cpu_median_ms": round(statistics.median(cpu)),
        }


if __name__ == "__main__":
    main()
