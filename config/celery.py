import os

from celery import Celery
from celery.signals import worker_init
from django.db import connection
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# redis:// and rediss:// brokers through our Redis transport: a worker must outlive a Redis restart
# (config/broker.py says which kombu defect killed it).
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "config.broker:Transport"

app = Celery("handoff")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _open_database_before_forking(**_kwargs) -> None:
    """Join the embedded PostgreSQL in the worker's main process, before it forks.

    pgserver counts the processes using a data dir by pid; registering the long-lived parent
    (rather than short-lived pool children) lets the server stop when the worker stops.
    """
    connection.ensure_connection()
    connection.close()


@app.task(ignore_result=False)
def ping() -> dict:
    """Round-trip check: says which process answered, so tests can prove a real worker did."""
    return {"pong": True, "pid": os.getpid()}
