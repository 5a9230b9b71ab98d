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


def test_two_processes_sharing_a_data_dir_share_one_server_which_stops_after_the_last(tmp_path):
    """Each process joins the same embedded server; the last to exit stops it."""
    script = (
        "import sys, time, django; django.setup();"
        "from django.db import connection;"
        "cur = connection.cursor(); cur.execute('SELECT pg_postmaster_start_time()');"
        "print(cur.fetchone()[0], flush=True);"
        "sys.argv[1] == 'hold' and sys.stdin.readline()"
    )
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "HANDOFF_DATA_DIR": str(tmp_path)}
    # The first process holds the server until told to exit (not for a fixed time: on a loaded machine
    # the second one's start-up alone can take longer than any sleep we would pick).
    first = subprocess.Popen(
        [sys.executable, "-c", script, "hold"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    first_start = first.stdout.readline().strip()
    second = subprocess.run([sys.executable, "-c", script, "go"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert second.stdout.strip() == first_start, "the second process must join the running server"
    first.stdin.write("exit\n")
    first.stdin.close()
    assert first.wait(30) == 0
    pid_file = tmp_path / "pgdata" / "postmaster.pid"
    assert not pid_file.exists(), "the server must stop when the last process using it exits"
