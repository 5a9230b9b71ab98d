"""`database_sync_to_async` that really closes the connections it opens.

channels' version closes old connections around the call, but with asgiref 3.13 the call
runs inside a copied context (asgiref re-homes Local storage into it), and the connection
it opens there is not the one the cleanup outside sees: the connection stays open for the
life of the worker thread, ignoring CONN_MAX_AGE, and blocks the test database's teardown.
Closing inside the call, in the same context as the work, fixes both.
"""

import functools
from collections.abc import Callable
from concurrent.futures import Executor

from channels.db import database_sync_to_async as _channels_database_sync_to_async
from django.db import close_old_connections


def database_sync_to_async(func: Callable, *, thread_sensitive: bool = True, executor: Executor | None = None):
    @functools.wraps(func)
    def closing(*args, **kwargs):
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return _channels_database_sync_to_async(closing, thread_sensitive=thread_sensitive, executor=executor)
