import asyncio
import itertools
import os
import threading

from asgiref.sync import SyncToAsync, async_to_sync
from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
from django.conf import settings
from django.db import close_old_connections, connection
from kombu.transport import TRANSPORT_ALIASES

from nlp import embeddings  # cheap: the model loads on first use (tests/knowledge/test_embeddings.py)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# redis:// and rediss:// brokers through our Redis transport: a worker must outlive a Redis restart
# (config/broker.py says which kombu defect killed it).
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "config.broker:Transport"

app = Celery("handoff")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes every database connection before and after each task, unless told to
# reuse them: each answer and each sentiment score then paid for a new PostgreSQL backend (a fork, a
# login and cold catalog caches; bench_bot_latency --answer-in workers: 31 -> 12 ms of PostgreSQL CPU
# per answer). Workers follow Django's own rule instead, as a request does (_close_old_connections
# below): a connection lives CONN_MAX_AGE, one that errored is closed. The fixup still closes
# everything after this many tasks, which is as good as never.
app.conf.CELERY_DB_REUSE_MAX = 2**31


@worker_init.connect
def _open_database_before_forking(**_kwargs) -> None:
    """Join the embedded PostgreSQL in the worker's main process, before it forks.

    pgserver counts the processes using a data dir by pid; registering the long-lived parent
    (rather than short-lived pool children) lets the server stop when the worker stops.
    """
    connection.ensure_connection()
    connection.close()


@worker_init.connect
def _yield_the_cpu_to_web_processes(**_kwargs) -> None:
    """Workers run at a lower CPU priority (HANDOFF_WORKER_NICE; pool processes inherit it), so on a
    shared box a saturated worker never delays a web process's acks and pushes: the scheduler gives
    Daphne a core first and the workers take the rest."""
    if settings.HANDOFF_WORKER_NICE:
        os.nice(settings.HANDOFF_WORKER_NICE)


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **_kwargs) -> None:
    """Around each task, what Django does around each request: close a connection past CONN_MAX_AGE
    or broken (PostgreSQL restarted: the task's retry then gets a new one), and health-check the
    kept one at its first use (CONN_HEALTH_CHECKS)."""
    if task is not None and task.request.is_eager:
        return  # run in the caller (no REDIS_URL), inside its connection and maybe its transaction
    close_old_connections()


# --- One event loop per worker process for the channel layer ----------------------------------
# A broadcast from sync code (chat.realtime: async_to_sync(layer.group_send)) with no event loop to
# hand it to starts a new loop in a new thread, and channels_redis opens a new Redis connection for
# every loop: in a worker that was each typing indicator and each reply (py-spy: 18 % of a worker
# answering visitors). asgiref hands async_to_sync to the loop that SyncToAsync leaves in its
# thread-local, as in Daphne; a worker's task threads get this process's own loop there instead.

_send_loop: asyncio.AbstractEventLoop | None = None
_send_loop_pid = 0
_send_loop_lock = threading.Lock()


def channel_layer_loop() -> asyncio.AbstractEventLoop:
    """This process's loop for channel-layer sends, started on first use (after a prefork fork)."""
    global _send_loop, _send_loop_pid
    with _send_loop_lock:
        if _send_loop is None or _send_loop_pid != os.getpid():
            _send_loop = asyncio.new_event_loop()
            threading.Thread(target=_send_loop.run_forever, name="channel-layer-loop", daemon=True).start()
            _send_loop_pid = os.getpid()
        return _send_loop


@task_prerun.connect
def _send_through_one_loop(task=None, **_kwargs) -> None:
    if task is not None and task.request.is_eager:
        return  # run in the caller (no REDIS_URL): its own loop, if it has one, is the right one
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        local.main_event_loop = channel_layer_loop()
        local.main_event_loop_pid = os.getpid()


@app.task(ignore_result=False)
def ping() -> dict:
    """Round-trip check: says which process answered, so tests can prove a real worker did."""
    return {"pong": True, "pid": os.getpid()}


@app.task(ignore_result=False)
def worker_probe() -> dict:
    """How this worker process runs tasks, for tests and operators: its CPU priority, the PostgreSQL
    backend its connection talks to, and the event loop its channel-layer sends run on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend_pid,) = cursor.fetchone()
    warm = embeddings._load_model.cache_info().currsize == 1  # loaded before any answer asked for it
    return {
        "pid": os.getpid(),
        "nice": os.nice(0),
        "db_backend_pid": backend_pid,
        "send_loop": _send_loop_id(),
        "model_loaded": warm,
    }


def _send_loop_id() -> int:
    """An id for the loop async_to_sync runs a coroutine on here (a new loop would get a new id)."""

    async def loop_id() -> int:
        loop = asyncio.get_running_loop()
        if not hasattr(loop, "handoff_id"):
            loop.handoff_id = next(_loop_ids)
        return loop.handoff_id

    return async_to_sync(loop_id)()


_loop_ids = itertools.count(1)
