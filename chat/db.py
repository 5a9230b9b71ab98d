"""Database helpers: `database_sync_to_async` that really closes the connections it opens, and
`ReadEvery`, a per-process cache for small reads made on every message.

channels' version closes old connections around the call, but with asgiref 3.13 the call
runs inside a copied context (asgiref re-homes Local storage into it), and the connection
it opens there is not the one the cleanup outside sees: the connection stays open for the
life of the worker thread, ignoring CONN_MAX_AGE, and blocks the test database's teardown.
Closing inside the call, in the same context as the work, fixes both.
"""

import functools
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor
from typing import ClassVar, Generic, TypeVar

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


T = TypeVar("T")


class ReadEvery(Generic[T]):
    """A value read from the database at most every `seconds` per process, for reads that every
    message would otherwise repeat (the rules' version, the teams' hours, the current classifier):
    a change made by another process applies within `seconds`. `forget()` makes the next call read
    again: after a change made in this process, and between tests (`forget_all`)."""

    _instances: ClassVar[weakref.WeakSet] = weakref.WeakSet()

    def __init__(self, read: Callable[[], T], *, seconds: float) -> None:
        self._read = read
        self._seconds = seconds
        self._lock = threading.Lock()
        self._value: tuple[T, float] | None = None
        ReadEvery._instances.add(self)

    def __call__(self) -> T:
        now = time.monotonic()
        with self._lock:
            if self._value is not None and self._value[1] > now:
                return self._value[0]
        value = self._read()  # outside the lock: other threads keep reading the old value meanwhile
        with self._lock:
            self._value = (value, now + self._seconds)
        return value

    def forget(self) -> None:
        with self._lock:
            self._value = None

    @classmethod
    def forget_all(cls) -> None:
        for instance in list(cls._instances):
            instance.forget()
