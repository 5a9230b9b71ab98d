import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from django.db import connection
from pgvector.django import CosineDistance

from knowledge.models import Article, Chunk
from tests.support.services import ROOT

pytestmark = pytest.mark.django_db


def unit(vector):
    array = np.asarray(vector, dtype=np.float32)
    return (array / np.linalg.norm(array)).tolist()


def test_the_database_is_postgresql_18_with_pgvector():
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 180000
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        assert cursor.fetchone() is not None


def test_cosine_search_through_the_orm_returns_the_nearest_chunk_using_the_hnsw_index():
    article = Article.objects.create(title="Shipping", body="...")
    rng = np.random.default_rng(7)
    vectors = [unit(rng.normal(size=384)) for _ in range(200)]
    Chunk.objects.bulk_create(
        Chunk(article=article, index=i, text=f"chunk {i}", embedding=vector) for i, vector in enumerate(vectors)
    )
    query = unit(np.asarray(vectors[42]) + rng.normal(scale=0.05, size=384))

    nearest = Chunk.objects.order_by(CosineDistance("embedding", query))
    assert nearest.first().index == 42

    with connection.cursor() as cursor:
        # With sequential scans priced out, the planner must pick the HNSW index for this query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = nearest.values("id")[:5].query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "chunk_embedding" in plan


# A process that joins the embedded server of HANDOFF_DATA_DIR, prints the server's start time, and
# with "hold" keeps using it until a line arrives on its standard input.
JOIN_THE_SERVER = (
    "import sys, time, django; django.setup();"
    "from django.db import connection;"
    "cur = connection.cursor(); cur.execute('SELECT pg_postmaster_start_time()');"
    "print(cur.fetchone()[0], flush=True);"
    "sys.argv[1] == 'hold' and sys.stdin.readline()"
)


def join_the_server(data_dir, how: str) -> tuple[subprocess.Popen, str]:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "HANDOFF_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-c", JOIN_THE_SERVER, how],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()


def leave(process: subprocess.Popen) -> None:
    process.stdin.write("exit\n")
    process.stdin.close()
    assert process.wait(30) == 0


def test_two_processes_sharing_a_data_dir_share_one_server_which_stops_after_the_last(tmp_path):
    """Each process joins the same embedded server; the last to exit stops it."""
    # The first process holds the server until told to exit (not for a fixed time: on a loaded machine
    # the second one's start-up alone can take longer than any sleep we would pick).
    first, first_start = join_the_server(tmp_path, "hold")
    second, second_start = join_the_server(tmp_path, "go")
    assert second.wait(30) == 0
    assert second_start == first_start, "the second process must join the running server"
    leave(first)
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    assert not pid_file.exists(), "the server must stop when the last process using it exits"


def test_the_server_stops_after_the_last_process_even_if_another_one_was_killed(tmp_path):
    """Issue 17: a user of the server killed with SIGKILL never took itself off pgserver's list, so
    the last live process left the server running for ever once it exited."""
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    try:
        first, first_start = join_the_server(tmp_path, "hold")
        killed, killed_start = join_the_server(tmp_path, "hold")
        assert killed_start == first_start
        killed.kill()
        killed.wait(10)
        leave(first)
        assert not pid_file.exists(), "the server must stop with the last live process using it"
    finally:
        if pid_file.exists():  # the old behaviour: stop the server it left, or it would run for ever
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
