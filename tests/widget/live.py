"""Helpers for tests that share the test database with a live server process."""

import time

from django.db import connection


def wait_for_live_server_to_settle(timeout: float = 15) -> None:
    """Wait until no other database session is busy.

    The live server may still be answering the last message or routing a handoff when a test
    ends, and pytest-django's flush (TRUNCATE) would then deadlock with it. Quiet means no
    other session busy for several checks in a row: the bot's work has short idle gaps.
    """
    quiet, deadline = 0, time.monotonic() + timeout
    while quiet < 5 and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            )
            quiet = quiet + 1 if cursor.fetchone()[0] == 0 else 0
        time.sleep(0.1)
